package host

import (
	"context"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/config"
)

// closings returns the closing events p got.
func closings(p *fakePlugin) []event.Delivery {
	var out []event.Delivery
	for _, d := range p.got() {
		if d.Event.Kind() == event.KindClosing {
			out = append(out, d)
		}
	}
	return out
}

// A reload hands the plugins it replaces or removes a closing event with
// the reason, numbered after the plugin's earlier deliveries; a plugin the
// reload keeps gets none.
func TestReloadClosingEvents(t *testing.T) {
	f := newManagerFixture(t)
	kinds := fakeFile{Kinds: []string{"update_ok", "closing"}}
	stay, gone, repl := f.file(t, "stay", kinds), f.file(t, "gone", kinds), f.file(t, "repl", kinds)
	if err := f.m.apply(context.Background(), []config.Plugin{spec("stay", stay), spec("gone", gone), spec("repl", repl)}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		f.disp.Publish(&event.UpdateOK{Header: event.Header{Seq: uint64(i)}})
	}
	for deadline := time.Now().Add(time.Minute); len(f.loader.latest("gone").got()) < 3 || len(f.loader.latest("repl").got()) < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the plugins did not get three events in a minute")
		}
	}
	oldRepl := f.loader.latest("repl")
	repl2 := f.file(t, "repl2", fakeFile{Kinds: []string{"update_ok", "closing"}, Settings: []string{"x"}})
	if err := f.m.apply(context.Background(), []config.Plugin{spec("stay", stay), spec("repl", repl2)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		p      *fakePlugin
		reason event.ClosingReason
	}{
		{"removed", f.loader.latest("gone"), event.ClosingRemoved},
		{"replaced", oldRepl, event.ClosingReplaced},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := closings(tc.p)
			if len(c) != 1 {
				t.Fatalf("closing events %+v, want one", c)
			}
			if e := c[0].Event.(*event.Closing); e.Reason != tc.reason || c[0].Seq != 4 || c[0].Dropped != 0 {
				t.Errorf("closing %+v (reason %v), want reason %v, delivery 4, nothing dropped", c[0], e.Reason, tc.reason)
			}
			if !tc.p.isClosed() {
				t.Error("not closed after its closing event")
			}
		})
	}
	if c := closings(f.loader.latest("stay")); len(c) != 0 {
		t.Errorf("the plugin the reload kept got %+v", c)
	}
}

// A plugin whose closing handler never returns, and ignores its context,
// does not hold up the reload that removes it: the reload stops waiting at
// the plugin's deadline and closes it.
func TestReloadBoundsAHungClosing(t *testing.T) {
	f := newManagerFixture(t)
	hang := make(chan struct{})
	defer close(hang)
	f.loader.hangs["stuck"] = hang
	stuck := f.file(t, "stuck", fakeFile{Kinds: []string{"closing"}})
	other := f.file(t, "other", fakeFile{Kinds: []string{"closing"}})
	p := spec("stuck", stuck)
	p.Deadline = config.Duration(100 * time.Millisecond)
	if err := f.m.apply(context.Background(), []config.Plugin{p, spec("other", other)}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.m.apply(context.Background(), []config.Plugin{spec("other", other)}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the reload waited a minute for a plugin hung in its closing handler (deadline 100ms)")
	}
	if !f.loader.latest("stuck").isClosed() {
		t.Error("the hung plugin was not closed")
	}
	if got := running(f.m); got != "other" {
		t.Errorf("running %q after the reload", got)
	}
}
