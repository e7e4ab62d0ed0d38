package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
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
	if st.State != pluginapi.StateRunning || st.Calls != 2 || st.Errors != 0 || st.Lookups != 1 || st.Kind != "wasm" {
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
	if !errors.As(err, &ce) || !errors.Is(err, ErrGuestStatus) || !strings.HasPrefix(ce.Message, `wasm: setting not found: get_setting "no_such_setting": `) {
		t.Fatalf("err = %v", err)
	}
	// A value larger than the SDK's first buffer is fetched by growing it.
	if err := deliver(p, changed("big")); err != nil {
		t.Fatal(err)
	}
}

// TestTypedLookups runs the SDK's typed getters inside a guest, against
// the host: every type decodes, and each lookup error reaches the guest as
// the SDK's sentinel.
func TestTypedLookups(t *testing.T) {
	r, rec := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "typed", Path: guestWasm}, nil)
	if err := deliver(p, changed("typed")); err != nil {
		t.Fatal(err)
	}
	want := `typed: int=43 float=43 bool=true string="hello, prod" json="hi \"there\"" type=true missing=true context=true`
	if rec.find(want, "plugin=typed") == "" {
		t.Fatalf("no %q in log:\n%s", want, rec.dump())
	}
	if st := p.Status(); st.Lookups != 8 || st.Errors != 0 {
		t.Fatalf("status = %+v", st)
	}
}

// TestFaults runs every uncooperative guest behaviour and checks that the
// host keeps serving: another plugin and its lookups are unaffected, and the
// failing plugin's next event reaches a fresh instance that was initialised
// again with the plugin's config. The WAT guests fault on every event, so
// their next event faults again, on a fresh instance.
func TestFaults(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		setting  string
		want     error
		message  string // in the error
		discards bool   // the instance is replaced
		timeout  bool
		again    bool // every event faults
		atLimit  bool // the instance reached its memory limit
	}{
		{name: "error status", path: guestWasm, setting: "error", want: ErrGuestStatus, message: "cannot handle error"},
		{name: "go panic", path: guestWasm, setting: "panic", want: ErrTrap, message: "runtime.gopanic", discards: true},
		{name: "wat trap", path: trapWat, setting: "x", want: ErrTrap, message: "unreachable", discards: true, again: true},
		{name: "go busy loop", path: guestWasm, setting: "loop", want: ErrTimeout, discards: true, timeout: true},
		{name: "wat busy loop", path: loopWat, setting: "x", want: ErrTimeout, discards: true, timeout: true, again: true},
		{name: "go out of memory", path: guestWasm, setting: "oom", want: ErrTrap, message: "runtime.throw", discards: true},
		{name: "wat memory growth", path: growWat, setting: "x", want: ErrTrap, message: "out of bounds memory access", discards: true, again: true, atLimit: true},
		{name: "go deadlock", path: guestWasm, setting: "block", want: ErrTrap, message: "runtime.checkdead", discards: true},
		{name: "bad pointers", path: guestWasm, setting: "badptr"},
	}
	const limit = 128
	r, rec := newTestRuntime(t)
	other := mustLoad(t, r, PluginConfig{Name: "bystander", Path: guestWasm}, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, " ", "-")
			// Loops get a short deadline; the others one they never reach,
			// since a Go guest dying of OOM prints its stack slowly under
			// -race, and growing memory a page at a time copies it each time.
			deadline := 2 * time.Minute
			if tc.timeout {
				deadline = 300 * time.Millisecond
			}
			cfg := `{"tag":"` + name + `-cfg"}`
			// inits counts the instances initialised with cfg: the Go guest
			// logs "init tag=<tag>", the WAT guests log the config itself.
			inits := func() int {
				if tc.path == guestWasm {
					return rec.count("init tag="+name+"-cfg", "plugin="+name)
				}
				return rec.count(cfg, "plugin="+name)
			}
			p := mustLoad(t, r, PluginConfig{Name: name, Path: tc.path, Deadline: deadline, MemoryLimitPages: limit, Config: json.RawMessage(cfg)}, nil)
			t.Cleanup(func() { _ = p.Close(context.Background()) })
			before := p.inst
			if before == nil || inits() != 1 {
				t.Fatalf("no instance initialised with the config at load; log:\n%s", rec.dump())
			}
			err := deliver(p, changed(tc.setting))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			} else if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want != nil && (!strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "heksher_on_setting_changed")) {
				t.Errorf("error does not name the plugin and the export: %v", err)
			}
			if !strings.Contains(fmt.Sprint(err), tc.message) {
				t.Errorf("error %q lacks %q", err, tc.message)
			}
			if tc.timeout && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("timeout does not match context.DeadlineExceeded: %v", err)
			}
			if got := p.inst == nil; got != tc.discards {
				t.Errorf("instance discarded = %v, want %v", got, tc.discards)
			}
			st := p.Status()
			if tc.want != nil && (st.Errors != 1 || st.LastError != err.Error()) {
				t.Errorf("status after fault = %+v", st)
			}
			if tc.timeout && st.Timeouts != 1 {
				t.Errorf("timeouts = %d", st.Timeouts)
			}
			if tc.discards && (st.State != pluginapi.StateRestarting || st.Detail["consecutive_failures"] != "1") {
				t.Errorf("status = %+v, want restarting after 1 failure", st)
			}
			if tc.atLimit && st.Detail["memory_pages"] != strconv.Itoa(limit) {
				t.Errorf("memory_pages = %s, want the limit %d", st.Detail["memory_pages"], limit)
			}
			// The bystander and its lookups are unaffected.
			if err := deliver(other, changed("answer")); err != nil {
				t.Fatalf("bystander: %v", err)
			}
			// The failing plugin's next event is served, by a fresh instance
			// if the old one was discarded, initialised with the config.
			wantInits := 1
			if tc.discards {
				wantInits = 2
			}
			if tc.again {
				if err := deliver(p, changed("again")); !errors.Is(err, tc.want) {
					t.Fatalf("next event: %v", err)
				}
				if st := p.Status(); st.Restarts != 1 || st.Errors != 2 || st.Detail["consecutive_failures"] != "2" {
					t.Errorf("status after the second fault = %+v", st)
				}
			} else {
				if err := deliver(p, changed("answer")); err != nil {
					t.Fatalf("next event: %v", err)
				}
				// The guest logs the looked-up value with its config's tag.
				if rec.find("answer=43", "tag="+name+"-cfg", "plugin="+name) == "" {
					t.Errorf("next event not handled by a configured instance; log:\n%s", rec.dump())
				}
				switch {
				case tc.discards && (p.inst == before || p.inst == nil):
					t.Error("next event did not get a fresh instance")
				case !tc.discards && p.inst != before:
					t.Error("instance replaced after a non-fatal call")
				}
				if st := p.Status(); tc.discards && (st.Restarts != 1 || st.State != pluginapi.StateRunning || st.Detail["consecutive_failures"] != "0") {
					t.Errorf("status after restart = %+v", st)
				}
			}
			if got := inits(); got != wantInits {
				t.Errorf("heksher_init ran %d times with the config, want %d; log:\n%s", got, wantInits, rec.dump())
			}
		})
	}
	if st := other.Status(); st.Errors != 0 || st.Restarts != 0 || st.State != pluginapi.StateRunning || st.Calls != uint64(len(tests)) || st.Lookups != uint64(len(tests)) {
		t.Errorf("bystander status = %+v", st)
	}
	if rec.find("badptr: host answered every bad call") == "" {
		t.Errorf("bad-pointer guest did not finish its checks; log:\n%s", rec.dump())
	}
	if rec.find("panic: plugin bug", "stream=stderr", "plugin=go-panic") == "" {
		t.Errorf("guest stderr not logged under its name; log:\n%s", rec.dump())
	}
	if rec.find("fatal error: all goroutines are asleep - deadlock!", "stream=stderr", "plugin=go-deadlock") == "" {
		t.Errorf("the Go runtime's deadlock report not logged; log:\n%s", rec.dump())
	}
	if rec.find("fatal error: out of memory", "stream=stderr", "plugin=go-out-of-memory") == "" {
		t.Errorf("the Go runtime's out-of-memory report not logged; log:\n%s", rec.dump())
	}
}

// TestConsecutiveFailuresMarkFailed checks the backoff between restarts and
// the failed state after MaxConsecutiveFailures, as Status shows them.
func TestConsecutiveFailuresMarkFailed(t *testing.T) {
	r, rec := newTestRuntime(t)
	load := func(name string, backoff time.Duration) (*Plugin, func() int) {
		p := mustLoad(t, r, PluginConfig{Name: name, Path: guestWasm, Config: []byte(`{"tag":"` + name + `"}`),
			MaxConsecutiveFailures: 3, Backoff: backoff, MaxBackoff: backoff}, nil)
		return p, func() int { return rec.count("init tag="+name, "plugin="+name) }
	}

	t.Run("backoff", func(t *testing.T) {
		p, inits := load("waiting", time.Hour)
		if err := deliver(p, changed("panic")); !errors.Is(err, ErrTrap) {
			t.Fatalf("1st: %v", err)
		}
		// The first failure restarts at once.
		if err := deliver(p, changed("panic")); !errors.Is(err, ErrTrap) {
			t.Fatalf("2nd: %v", err)
		}
		// The second waits for its backoff: events are refused, and no
		// instance is made.
		for range 2 {
			if err := deliver(p, changed("answer")); !errors.Is(err, ErrBackoff) {
				t.Fatalf("during backoff: %v", err)
			}
		}
		if got := inits(); got != 2 {
			t.Fatalf("%d instances initialised, want 2", got)
		}
		st := p.Status()
		at, err := time.Parse(time.RFC3339Nano, st.Detail["restart_at"])
		if st.State != pluginapi.StateRestarting || st.Errors != 2 || st.Restarts != 1 || st.Detail["consecutive_failures"] != "2" ||
			err != nil || time.Until(at) < 30*time.Minute {
			t.Fatalf("status during backoff = %+v", st)
		}
	})

	t.Run("failed restart", func(t *testing.T) {
		// Only the first instance starts: the fresh one's init refuses.
		p := mustLoad(t, r, PluginConfig{Name: "once", Path: guestWasm, Config: []byte(`{"fail_restart":true}`),
			Grants: Grants{Dir: t.TempDir()}, MaxConsecutiveFailures: 2}, nil)
		if err := deliver(p, changed("panic")); !errors.Is(err, ErrTrap) {
			t.Fatalf("panic: %v", err)
		}
		err := deliver(p, changed("answer"))
		var ce *CallError
		if !errors.As(err, &ce) || !errors.Is(err, ErrGuestStatus) || ce.Export != "heksher_init" || ce.Message != "refusing to start again" {
			t.Fatalf("restart: %v", err)
		}
		st := p.Status()
		if st.State != pluginapi.StateFailed || st.Errors != 2 || st.Restarts != 0 || st.Detail["consecutive_failures"] != "2" || st.LastError != err.Error() {
			t.Fatalf("status = %+v", st)
		}
		if err := deliver(p, changed("answer")); !errors.Is(err, ErrFailed) {
			t.Fatalf("after giving up: %v", err)
		}
	})

	t.Run("failed", func(t *testing.T) {
		p, inits := load("crashy", time.Millisecond)
		for i := range 3 {
			err := deliver(p, changed("panic"))
			for errors.Is(err, ErrBackoff) {
				time.Sleep(time.Millisecond)
				err = deliver(p, changed("panic"))
			}
			if !errors.Is(err, ErrTrap) {
				t.Fatalf("failure %d: %v", i+1, err)
			}
		}
		st := p.Status()
		if st.State != pluginapi.StateFailed || st.Restarts != 2 || st.Errors != 3 || st.Detail["consecutive_failures"] != "3" || st.Detail["restart_at"] != "" {
			t.Fatalf("status = %+v", st)
		}
		time.Sleep(5 * time.Millisecond) // well past the backoff: failed is final
		for range 2 {
			if err := deliver(p, changed("answer")); !errors.Is(err, ErrFailed) {
				t.Fatalf("after giving up: %v", err)
			}
		}
		if got := inits(); got != 3 {
			t.Fatalf("%d instances initialised, want 3", got)
		}
		if st := p.Status(); st.State != pluginapi.StateFailed {
			t.Fatalf("state = %v", st.State)
		}
	})
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
	if st := p.Status(); st.State != pluginapi.StateRunning || st.Restarts != 3 {
		t.Fatalf("status = %+v", st)
	}
}

func TestRecycleAboveThreshold(t *testing.T) {
	r, rec := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "grower", Path: guestWasm, MemoryLimitPages: 512, RecycleAbovePages: 100}, nil)
	first := p.inst
	pages := func() int {
		n, err := strconv.Atoi(p.Status().Detail["memory_pages"])
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	loaded := pages()
	if loaded <= 0 || loaded > 100 || uint32(loaded) != first.memoryPages() {
		t.Fatalf("memory_pages after load = %d, instance has %d", loaded, first.memoryPages())
	}
	if err := deliver(p, changed("grow")); err != nil {
		t.Fatal(err)
	}
	if p.inst != nil {
		t.Fatal("instance above the threshold was kept")
	}
	// The status reports the memory the recycled instance had reached: the
	// guest keeps 8 MiB (128 pages) more than it had.
	if grown := pages(); grown < loaded+128 {
		t.Fatalf("memory_pages after growing = %d, loaded with %d", grown, loaded)
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

// TestDeadlineFromCallerContext checks that the caller's deadline stops a
// guest looping in pure wasm. Were it not enforced, Deliver would run into
// the plugin's hour-long Deadline and the test binary's timeout would fail
// the test.
func TestDeadlineFromCallerContext(t *testing.T) {
	r, _ := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "loop", Path: loopWat, Deadline: time.Hour}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Deliver(ctx, changed("x")); !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if p.inst != nil {
		t.Fatal("the stopped instance was kept")
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
	if st := p.Status(); st.State != pluginapi.StateStopped {
		t.Fatalf("state = %v", st.State)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Load(context.Background(), PluginConfig{Name: "late", Path: guestWasm}, newSettings()); !errors.Is(err, ErrClosed) {
		t.Fatalf("load after close: %v", err)
	}
}

// TestSandboxGrants checks that a guest sees files, environment variables,
// the real clock and real randomness only as its grants say, that no host
// file outside a grant and no host variable leak in, and that its stdout and
// stderr reach the log under its name.
func TestSandboxGrants(t *testing.T) {
	t.Setenv("GREETING", "leaked") // the host's own variable, never granted as such
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("granted"), 0o600); err != nil {
		t.Fatal(err)
	}
	// wazero's fake clock starts at 2022-01-01.
	year := " year=" + strconv.Itoa(time.Now().Year())
	tests := []struct {
		name   string
		grants Grants
		want   string
	}{
		{"nothing granted", Grants{}, `sandbox: env="" environ="" read="" readErr=true writeErr=true hostFileErr=true year=2022 `},
		{"nothing granted again", Grants{}, `sandbox: env="" environ="" read="" readErr=true writeErr=true hostFileErr=true year=2022 `},
		{"read-only dir, env, clock", Grants{Dir: dir, DirReadOnly: true, Env: map[string]string{"GREETING": "hi"}, Clock: true},
			`sandbox: env="hi" environ="GREETING=hi" read="granted" readErr=false writeErr=true hostFileErr=true` + year},
		{"writable dir", Grants{Dir: dir}, `sandbox: env="" environ="" read="granted" readErr=false writeErr=false hostFileErr=true year=2022 `},
		{"random", Grants{Random: true}, `sandbox: env="" environ="" read="" readErr=true writeErr=true hostFileErr=true year=2022 `},
	}
	r, rec := newTestRuntime(t)
	rands := map[string]string{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.NewReplacer(" ", "-", ",", "").Replace(tc.name)
			p := mustLoad(t, r, PluginConfig{Name: name, Path: guestWasm, Grants: tc.grants}, nil)
			t.Cleanup(func() { _ = p.Close(context.Background()) })
			if err := deliver(p, changed("sandbox")); err != nil {
				t.Fatal(err)
			}
			line := rec.find(tc.want, "plugin="+name)
			if line == "" {
				t.Fatalf("no %q in log:\n%s", tc.want, rec.dump())
			}
			_, rnd, _ := strings.Cut(line, " rand=")
			rands[tc.name], _, _ = strings.Cut(rnd, " ")
			for _, want := range []string{"INFO sandbox says hello on stdout", "WARN sandbox says hello on stderr"} {
				if rec.find(want, "plugin="+name) == "" {
					t.Errorf("no %q under the plugin's name; log:\n%s", want, rec.dump())
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "out.txt")); err != nil {
		t.Fatalf("the writable grant did not write: %v", err)
	}
	// Without the grant, randomness is the same in every instance; with it,
	// it is not.
	if det := rands["nothing granted"]; len(det) != 16 || rands["nothing granted again"] != det || rands["random"] == det || len(rands["random"]) != 16 {
		t.Errorf("random bytes = %q", rands)
	}
}

// TestCancelStopsRunningCall cancels the caller's context while the guest
// loops in pure wasm under an hour-long plugin deadline: the watchdog must
// close the module, and the next event gets a fresh instance.
func TestCancelStopsRunningCall(t *testing.T) {
	r, rec := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "loop", Path: loopWat, Deadline: time.Hour, Config: []byte(`"cancel-cfg"`)}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	timer := time.AfterFunc(100*time.Millisecond, cancel)
	defer timer.Stop()
	err := p.Deliver(ctx, changed("x"))
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrTimeout and context.Canceled", err)
	}
	if p.inst != nil {
		t.Fatal("the cancelled instance was kept")
	}
	// The next event reaches a fresh instance, initialised with the config
	// (and looping again, stopped this time by the caller's deadline).
	dctx, dcancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer dcancel()
	if err := p.Deliver(dctx, changed("x")); !errors.Is(err, ErrTimeout) {
		t.Fatalf("next event: %v", err)
	}
	if n := rec.count(`"cancel-cfg"`, "plugin=loop"); n != 2 {
		t.Fatalf("%d instances initialised with the config, want 2", n)
	}
	if st := p.Status(); st.Restarts != 1 || st.Timeouts != 2 {
		t.Fatalf("status = %+v", st)
	}
}
