package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/hostapi"
)

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestManifestAndDelivery(t *testing.T) {
	r, rec := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "guest", Path: guestWasm}, nil)
	m := p.Manifest()
	if want := event.SetOf(event.KindSettingChanged, event.KindClosing); m.Subscriptions != want {
		t.Errorf("subscriptions = %v, want %v", m.Subscriptions.Kinds(), want.Kinds())
	}
	if len(m.Declarations) != 1 {
		t.Fatalf("declarations = %+v", m.Declarations)
	}
	d := m.Declarations[0]
	if d.Name != "answer" || d.Type != "int" || string(d.Default) != "42" || len(d.ConfigurableFeatures) != 1 || d.ConfigurableFeatures[0] != "env" {
		t.Errorf("declaration = %+v", d)
	}
	ev := changed("answer")
	ev.Dropped = 3
	if err := deliver(p, ev); err != nil {
		t.Fatal(err)
	}
	want := "seq=" + strconv.FormatUint(ev.Seq, 10) + " dropped=3 answer=43"
	if rec.find(want, "plugin=guest") == "" {
		t.Fatalf("no log line %q; log:\n%s", want, rec.dump())
	}
	// A kind the plugin did not subscribe to is skipped.
	if err := deliver(p, event.Delivery{Seq: 99, Event: &event.UpdateOK{}}); err != nil {
		t.Fatal(err)
	}
	if err := deliver(p, event.Delivery{Seq: 100, Event: &event.Closing{}}); err != nil {
		t.Fatal(err)
	}
	if rec.find("closing", "plugin=guest") == "" {
		t.Error("closing hook did not run")
	}
	st := p.Status()
	if st.State != hostapi.StateRunning || st.Calls != 2 || st.Errors != 0 || st.Lookups != 1 || st.Kind != "wasm" {
		t.Errorf("status = %+v", st)
	}
}

func TestLookupErrorsReachGuest(t *testing.T) {
	r, _ := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "guest", Path: guestWasm}, nil)
	// The guest looks up the event's setting; an unknown one comes back
	// as the guest's error status.
	err := deliver(p, changed("no_such_setting"))
	var ce *CallError
	if !errors.As(err, &ce) || !errors.Is(err, ErrGuestStatus) || ce.Message != "wasm: setting not found" {
		t.Fatalf("err = %v", err)
	}
	// A value larger than the SDK's first buffer is fetched by growing it.
	if err := deliver(p, changed("big")); err != nil {
		t.Fatal(err)
	}
}

// TestFaults runs every uncooperative guest behaviour and checks that the
// host keeps serving: the next event reaches a fresh instance, another
// plugin and lookups are unaffected.
func TestFaults(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		setting  string
		want     error
		discards bool // the instance is replaced
		timeout  bool
	}{
		{"error status", guestWasm, "error", ErrGuestStatus, false, false},
		{"panic", guestWasm, "panic", ErrTrap, true, false},
		{"go busy loop", guestWasm, "loop", ErrTimeout, true, true},
		{"wat busy loop", loopWat, "loop", ErrTimeout, true, true},
		{"out of memory", guestWasm, "oom", ErrTrap, true, false},
		{"bad pointers", guestWasm, "badptr", nil, false, false},
	}
	r, rec := newTestRuntime(t)
	other := mustLoad(t, r, PluginConfig{Name: "bystander", Path: guestWasm}, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, " ", "-")
			// Loops get a short deadline; the others a long one, since a Go
			// guest dying of OOM prints its stack slowly under -race.
			deadline := 5 * time.Second
			if tc.timeout {
				deadline = 300 * time.Millisecond
			}
			cfg := json.RawMessage(`{"tag":"` + name + `-cfg"}`)
			p := mustLoad(t, r, PluginConfig{Name: name, Path: tc.path, Deadline: deadline, MemoryLimitPages: 128, Config: cfg}, nil)
			t.Cleanup(func() { _ = p.Close(context.Background()) })
			before := p.inst
			start := time.Now()
			err := deliver(p, changed(tc.setting))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			} else if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.timeout {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("timeout does not match context.DeadlineExceeded: %v", err)
				}
				if el := time.Since(start); el > 3*time.Second {
					t.Errorf("loop stopped after %v", el)
				}
			}
			if tc.want == ErrGuestStatus && !strings.Contains(err.Error(), "cannot handle error") {
				t.Errorf("message lost: %v", err)
			}
			if got := p.inst == nil; got != tc.discards {
				t.Errorf("instance discarded = %v, want %v", got, tc.discards)
			}
			st := p.Status()
			if tc.want != nil && (st.Errors != 1 || st.LastError == "") {
				t.Errorf("status after fault = %+v", st)
			}
			if tc.timeout && st.Timeouts != 1 {
				t.Errorf("timeouts = %d", st.Timeouts)
			}
			if tc.discards && st.State != hostapi.StateRestarting {
				t.Errorf("state = %v, want restarting", st.State)
			}
			// The bystander and its lookups are unaffected.
			if err := deliver(other, changed("answer")); err != nil {
				t.Fatalf("bystander: %v", err)
			}
			// The failing plugin's next event is served, by a fresh
			// instance if the old one was discarded.
			if tc.path == loopWat {
				// Every event loops in loop.wasm: the next one reaches a fresh
				// instance and is stopped again.
				if err := deliver(p, changed("again")); !errors.Is(err, ErrTimeout) {
					t.Fatalf("next event: %v", err)
				}
				if st := p.Status(); st.Restarts != 1 || st.Timeouts != 2 {
					t.Errorf("status after the second loop = %+v", st)
				}
				return
			}
			if err := deliver(p, changed("answer")); err != nil {
				t.Fatalf("next event: %v", err)
			}
			// The instance that served it was initialised with the config:
			// the guest logs its tag at init and with the looked-up value.
			if tc.path == guestWasm {
				wantInits := 1
				if tc.discards {
					wantInits = 2
				}
				if got := rec.count("init tag="+name+"-cfg", "plugin="+name); got != wantInits {
					t.Errorf("heksher_init ran %d times with the config, want %d; log:\n%s", got, wantInits, rec.dump())
				}
				if rec.find("answer=43", "tag="+name+"-cfg", "plugin="+name) == "" {
					t.Errorf("next event not handled by a configured instance; log:\n%s", rec.dump())
				}
			}
			if tc.discards {
				if p.inst == before || p.inst == nil {
					t.Error("next event did not get a fresh instance")
				}
				if st := p.Status(); st.Restarts != 1 || st.State != hostapi.StateRunning {
					t.Errorf("status after restart = %+v", st)
				}
			} else if p.inst != before {
				t.Error("instance replaced after a non-fatal call")
			}
		})
	}
	if rec.find("badptr: host answered every bad call") == "" {
		t.Errorf("bad-pointer guest did not finish its checks; log:\n%s", rec.dump())
	}
	if rec.find("panic: plugin bug", "stream=stderr", "plugin=panic") == "" {
		t.Errorf("guest stderr not logged under its name; log:\n%s", rec.dump())
	}
}

func TestConsecutiveFailuresMarkFailed(t *testing.T) {
	r, _ := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "crashy", Path: guestWasm, MaxConsecutiveFailures: 3, Backoff: 50 * time.Millisecond}, nil)
	if err := deliver(p, changed("panic")); !errors.Is(err, ErrTrap) {
		t.Fatalf("1st: %v", err)
	}
	// The first failure restarts at once.
	if err := deliver(p, changed("panic")); !errors.Is(err, ErrTrap) {
		t.Fatalf("2nd: %v", err)
	}
	// The second waits for its backoff: the event is refused, not handled.
	if err := deliver(p, changed("answer")); !errors.Is(err, ErrBackoff) {
		t.Fatalf("during backoff: %v", err)
	}
	if st := p.Status(); st.State != hostapi.StateRestarting || st.Errors != 2 {
		t.Fatalf("status = %+v", st)
	}
	time.Sleep(60 * time.Millisecond)
	if err := deliver(p, changed("panic")); !errors.Is(err, ErrTrap) {
		t.Fatalf("3rd: %v", err)
	}
	if st := p.Status(); st.State != hostapi.StateFailed || st.Restarts != 2 || st.Detail["consecutive_failures"] != "3" {
		t.Fatalf("status = %+v", st)
	}
	if err := deliver(p, changed("answer")); !errors.Is(err, ErrFailed) {
		t.Fatalf("after giving up: %v", err)
	}
}

func TestSuccessResetsFailures(t *testing.T) {
	r, _ := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "flaky", Path: guestWasm, MaxConsecutiveFailures: 2}, nil)
	for i := range 3 {
		if err := deliver(p, changed("panic")); !errors.Is(err, ErrTrap) {
			t.Fatalf("round %d: %v", i, err)
		}
		if err := deliver(p, changed("answer")); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	if st := p.Status(); st.State != hostapi.StateRunning || st.Restarts != 3 {
		t.Fatalf("status = %+v", st)
	}
}

func TestRecycleAboveThreshold(t *testing.T) {
	r, rec := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "grower", Path: guestWasm, MemoryLimitPages: 512, RecycleAbovePages: 100}, nil)
	first := p.inst
	if err := deliver(p, changed("grow")); err != nil {
		t.Fatal(err)
	}
	if p.inst != nil {
		t.Fatal("instance above the threshold was kept")
	}
	if err := deliver(p, changed("answer")); err != nil {
		t.Fatal(err)
	}
	if p.inst == nil || p.inst == first {
		t.Fatal("no fresh instance after recycling")
	}
	st := p.Status()
	if st.Detail["recycles"] != "1" || st.Errors != 0 || st.Restarts != 0 {
		t.Fatalf("status = %+v", st)
	}
	if rec.find("recycling instance", "plugin=grower") == "" {
		t.Error("recycling not logged")
	}
}

func TestDeadlineFromCallerContext(t *testing.T) {
	r, _ := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "loop", Path: loopWat, Deadline: time.Minute}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := p.Deliver(ctx, changed("x")); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("the caller's deadline was not enforced: %v", el)
	}
}

func TestExpiredContextKeepsInstance(t *testing.T) {
	r, _ := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "patient", Path: guestWasm}, nil)
	inst := p.inst
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Deliver(ctx, changed("answer")); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if p.inst != inst {
		t.Fatal("an event that was never delivered cost the instance")
	}
	if err := deliver(p, changed("answer")); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentPlugins(t *testing.T) {
	r, _ := newTestRuntime(t)
	var wg sync.WaitGroup
	for i := range 3 {
		p := mustLoad(t, r, PluginConfig{Name: "p" + strconv.Itoa(i), Path: guestWasm}, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				s := "answer"
				if j%7 == 3 {
					s = "panic"
				}
				err := deliver(p, changed(s))
				if (s == "panic") != (err != nil) {
					t.Errorf("%s: event %d (%s): %v", p.Name(), j, s, err)
				}
				_ = p.Status()
			}
		}()
	}
	wg.Wait()
}

func TestCloseAndGrants(t *testing.T) {
	r, _ := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "closer", Path: guestWasm, Grants: Grants{Dir: t.TempDir(), DirReadOnly: true, Env: map[string]string{"A": "1"}, Clock: true, Random: true}}, nil)
	if err := deliver(p, changed("answer")); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := deliver(p, changed("answer")); !errors.Is(err, ErrClosed) {
		t.Fatalf("deliver after close: %v", err)
	}
	if st := p.Status(); st.State != hostapi.StateStopped {
		t.Fatalf("state = %v", st.State)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Load(context.Background(), PluginConfig{Name: "late", Path: guestWasm}, newSettings()); !errors.Is(err, ErrClosed) {
		t.Fatalf("load after close: %v", err)
	}
}

func TestSandboxGrants(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("granted"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		grants Grants
		want   string
	}{
		{"nothing granted", Grants{}, `sandbox: env="" read="" readErr=true writeErr=true year=2022`}, // wazero's fake clock starts at 2022-01-01,
		{"read-only dir, env, clock", Grants{Dir: dir, DirReadOnly: true, Env: map[string]string{"GREETING": "hi"}, Clock: true},
			`sandbox: env="hi" read="granted" readErr=false writeErr=true year=` + strconv.Itoa(time.Now().Year())},
		{"writable dir", Grants{Dir: dir}, `sandbox: env="" read="granted" readErr=false writeErr=false`},
	}
	r, rec := newTestRuntime(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, " ", "-")
			p := mustLoad(t, r, PluginConfig{Name: name, Path: guestWasm, Grants: tc.grants}, nil)
			t.Cleanup(func() { _ = p.Close(context.Background()) })
			if err := deliver(p, changed("sandbox")); err != nil {
				t.Fatal(err)
			}
			if rec.find(tc.want, "plugin="+name) == "" {
				t.Fatalf("no %q in log:\n%s", tc.want, rec.dump())
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "out.txt")); err != nil {
		t.Fatalf("the writable grant did not write: %v", err)
	}
}

// TestCancelStopsRunningCall cancels the caller's context while the guest
// loops in pure wasm under a long plugin deadline: the watchdog must close
// the module, and the next event gets a fresh instance.
func TestCancelStopsRunningCall(t *testing.T) {
	r, _ := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "loop", Path: loopWat, Deadline: time.Minute}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	timer := time.AfterFunc(100*time.Millisecond, cancel)
	defer timer.Stop()
	start := time.Now()
	err := p.Deliver(ctx, changed("x"))
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrTimeout and context.Canceled", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("cancellation was not enforced: %v", el)
	}
	if p.inst != nil {
		t.Fatal("the cancelled instance was kept")
	}
}
