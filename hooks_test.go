package heksher

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/heksher-go/heksher/dispatch"
	"github.com/heksher-go/heksher/event"
)

// blockingHook hangs in OnUpdateOK, ignoring its context, until released.
type blockingHook struct {
	NopHook
	release chan struct{}
}

func (h blockingHook) OnUpdateOK(context.Context, *event.UpdateOK) { <-h.release }

type panickingHook struct{ NopHook }

func (panickingHook) OnUpdateOK(context.Context, *event.UpdateOK) { panic("hook bug") }

// A hook that hangs or panics delays neither updates nor Get, and the other
// hooks still receive every event in order.
func TestHooks_SlowAndPanickingNeverDelayUpdates(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	s := mustSetting(t, "x", Int(), []string{"a"}, 1)
	release := make(chan struct{})
	rec := newRecHook()
	c, lc := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"},
		// A deadline far above the test's run time: Close, which drains the
		// queues for up to twice the deadline, must not give up on a loaded
		// machine; the blocking hook is released before Close.
		WithHooks(blockingHook{release: release}, panickingHook{}, rec), WithHookLimits(64, 10*time.Second))
	mustNil(t, c.SetAsMain(ctxT(t)))
	for range 10 {
		mustNil(t, c.Reload(ctxT(t))) // would hang if a hook ran on the update path
	}
	mustGet(t, s, map[string]string{"a": ""})
	rec.waitKind(t, event.KindUpdateOK, 11)
	close(release)
	mustNil(t, c.Close())
	if !lc.has(slog.LevelError, "hook panicked") {
		t.Fatalf("panic not logged:\n%s", lc.dump())
	}
	var prev uint64
	for _, e := range rec.events() {
		if e.Head().Seq != prev+1 {
			t.Fatalf("gap in the recording hook's events: %d after %d", e.Head().Seq, prev)
		}
		prev = e.Head().Seq
	}
	if last := rec.events()[len(rec.events())-1]; last.Kind() != event.KindClosing {
		t.Fatalf("last event = %v, want closing", last.Kind())
	}
}

// A shared dispatcher: the host subscribes its own subscribers; the client
// publishes into it and does not close it.
func TestHooks_SharedDispatcher(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	d := dispatch.New()
	got := make(chan event.Kind, 64)
	mustNil(t, d.Subscribe("host", event.All, dispatch.SubscriberFunc(func(_ context.Context, del event.Delivery) error {
		got <- del.Event.Kind()
		return nil
	})))
	c, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"}, WithDispatcher(d))
	mustNil(t, c.SetAsMain(ctxT(t)))
	mustNil(t, c.Close())
	want := []event.Kind{event.KindUpdateOK, event.KindClosing}
	for _, w := range want {
		select {
		case k := <-got:
			if k != w {
				t.Fatalf("got %v, want %v", k, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %v event", w)
		}
	}
	if err := d.Subscribe("after", event.All, dispatch.SubscriberFunc(func(context.Context, event.Delivery) error { return nil })); err != nil {
		t.Fatalf("the client closed the shared dispatcher: %v", err)
	}
	mustNil(t, d.Close(ctxT(t)))
}

func TestStatus(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	mustSetting(t, "x", Int(), []string{"a"}, 1)
	c, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	if st := c.Status(); st.Running || st.Origin != OriginDefaults || st.LastResult != ResultNone {
		t.Fatalf("before start: %+v", st)
	}
	mustNil(t, c.SetAsMain(ctxT(t)))
	st := c.Status()
	if !st.Running || st.Origin != OriginService || st.LastResult != ResultOK || st.ETag == "" || st.Tracked != 1 ||
		st.Attempts != 1 || st.LastSuccess.IsZero() || st.PendingDeclarations != 0 {
		t.Fatalf("after start: %+v", st)
	}
	mustNil(t, c.Close())
	if c.Status().Running {
		t.Fatal("running after Close")
	}
}

// stuckHook ignores its context on every event until released.
type stuckHook struct {
	release chan struct{}
}

func (h stuckHook) wait()                                                   { <-h.release }
func (h stuckHook) OnDeclared(context.Context, *event.Declared)             { h.wait() }
func (h stuckHook) OnUpdateOK(context.Context, *event.UpdateOK)             { h.wait() }
func (h stuckHook) OnUpdateError(context.Context, *event.UpdateError)       { h.wait() }
func (h stuckHook) OnSettingChanged(context.Context, *event.SettingChanged) { h.wait() }
func (h stuckHook) OnClosing(context.Context, *event.Closing)               { h.wait() }

// Close with a hook that ignores every deadline and has a long queue still
// returns, reporting that hook events were dropped.
func TestHooks_CloseWithHungHook(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	release := make(chan struct{})
	defer close(release) // lets the abandoned calls end before goleak looks
	c, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"},
		WithHooks(stuckHook{release: release}), WithHookLimits(256, 100*time.Millisecond))
	mustNil(t, c.SetAsMain(ctxT(t)))
	for range 30 {
		mustNil(t, c.Reload(ctxT(t)))
	}
	err := c.Close()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want the hook deadline reported", err)
	}
}
