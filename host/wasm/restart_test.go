package wasm

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/heksher-go/heksher/pluginapi"
)

// A guest that traps on every event it is given reaches failed, is then
// never instantiated again by deliveries, and Restart brings it back:
// failures forgotten, a fresh instance initialised with the plugin's
// config, state running; the next trap counts from one again.
func TestRestartBringsAFailedPluginBack(t *testing.T) {
	r, rec := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "trapper", Path: guestWasm, Config: []byte(`{"tag":"trapper"}`),
		MaxConsecutiveFailures: 3, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}, nil)
	inits := func() int { return rec.count("init tag=trapper", "plugin=trapper") }

	deadline := time.Now().Add(time.Minute)
	for p.Status().State != pluginapi.StateFailed {
		if time.Now().After(deadline) {
			t.Fatalf("not failed after a minute of traps: %+v", p.Status())
		}
		err := deliver(p, changed("panic"))
		if !errors.Is(err, ErrTrap) && !errors.Is(err, ErrBackoff) {
			t.Fatalf("delivery to a trapping guest: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	before := inits()
	// Failed is final for deliveries: refused, and no instance is made.
	for range 3 {
		if err := deliver(p, changed("answer")); !errors.Is(err, ErrFailed) {
			t.Fatalf("delivery after failing: %v", err)
		}
	}
	if got := inits(); got != before {
		t.Fatalf("%d instances initialised after failing, want none", got-before)
	}
	restarts := p.Status().Restarts

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	st := p.Status()
	if st.State != pluginapi.StateRunning || st.Detail["consecutive_failures"] != "0" || st.Restarts != restarts+1 {
		t.Fatalf("status after Restart = %+v", st)
	}
	if got := inits(); got != before+1 {
		t.Fatalf("Restart initialised %d instances, want 1", got-before)
	}
	if err := deliver(p, changed("answer")); err != nil {
		t.Fatalf("delivery after Restart: %v", err)
	}
	// It still traps, and counts from one again: restarting, not failed.
	if err := deliver(p, changed("panic")); !errors.Is(err, ErrTrap) {
		t.Fatalf("trap after Restart: %v", err)
	}
	if st := p.Status(); st.State != pluginapi.StateRestarting || st.Detail["consecutive_failures"] != "1" {
		t.Fatalf("status after one more trap = %+v", st)
	}
}

// A Restart whose fresh instance refuses to start counts one failure and
// says why; a Restart after Close is refused.
func TestRestartFailureAndClose(t *testing.T) {
	r, _ := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "once", Path: guestWasm, Config: []byte(`{"fail_restart":true}`),
		Grants: Grants{Dir: t.TempDir()}, MaxConsecutiveFailures: 2}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := p.Restart(ctx)
	var ce *CallError
	if !errors.As(err, &ce) || ce.Message != "refusing to start again" {
		t.Fatalf("Restart of a guest whose init refuses: %v", err)
	}
	if st := p.Status(); st.State != pluginapi.StateRestarting || st.Detail["consecutive_failures"] != "1" {
		t.Fatalf("status = %+v", st)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Restart(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Restart after Close: %v", err)
	}
}
