package host

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/heksher-go/heksher/dispatch"
	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
)

type recordingSubscriber struct {
	mu  sync.Mutex
	got []event.Delivery
}

func (r *recordingSubscriber) Deliver(_ context.Context, d event.Delivery) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, d)
	return nil
}

var _ dispatch.Subscriber = (*recordingSubscriber)(nil)

// A gate kept full by a stream of update results while its plugin loads
// keeps the setting changes and the closing event, drops update results
// first, and hands over only the kinds the plugin wants, numbered so that
// every gap is a counted drop; a shut gate hands over nothing.
func TestStartGateKeepsChangesOverUpdateResults(t *testing.T) {
	ctx := context.Background()
	g := newStartGate(4, time.Second)
	seq := uint64(0)
	send := func(e event.Event) {
		seq++
		if err := g.Deliver(ctx, event.Delivery{Seq: seq, Event: e}); err != nil {
			t.Fatal(err)
		}
	}
	send(&event.SettingChanged{Setting: "a"})
	for range 50 {
		send(&event.UpdateOK{})
	}
	send(&event.SettingChanged{Setting: "b"})
	send(&event.UpdateOK{})
	send(&event.Closing{})

	r := &recordingSubscriber{}
	g.open(ctx, r, newEventFilter(pluginapi.Manifest{Subscriptions: event.SetOf(event.KindSettingChanged, event.KindClosing),
		Settings: []string{pluginapi.AllSettings}}).accept)
	send(&event.SettingChanged{Setting: "c"})
	send(&event.UpdateOK{}) // not wanted: skipped, not a gap
	send(&event.SettingChanged{Setting: "d"})

	var names []string
	var last uint64
	for _, d := range r.got {
		if d.Seq != last+d.Dropped+1 {
			t.Errorf("delivery %d after %d with %d dropped: a gap that is not a drop", d.Seq, last, d.Dropped)
		}
		last = d.Seq
		if sc, ok := d.Event.(*event.SettingChanged); ok {
			names = append(names, sc.Setting)
		} else {
			names = append(names, d.Event.Kind().String())
		}
	}
	if got := len(names); got != 5 || names[0] != "a" || names[1] != "b" || names[2] != "closing" || names[3] != "c" || names[4] != "d" {
		t.Errorf("handed over %v, want a, b, closing, c, d", names)
	}

	// Of 54 kept while loading, 4 fit: 50 lost (the update result skipped
	// at the opening is not lost: the plugin did not want it).
	if got := g.lostCount(); got != 50 {
		t.Errorf("the gate counts %d events it dropped, want 50", got)
	}

	shut := newStartGate(4, time.Second)
	_ = shut.Deliver(ctx, event.Delivery{Seq: 1, Event: &event.SettingChanged{Setting: "a"}})
	shut.shut()
	_ = shut.Deliver(ctx, event.Delivery{Seq: 2, Event: &event.SettingChanged{Setting: "b"}})
	r2 := &recordingSubscriber{}
	shut.open(ctx, r2, newEventFilter(pluginapi.Manifest{Subscriptions: event.All}).accept)
	if len(r2.got) != 0 || len(shut.kept) != 0 {
		t.Errorf("a shut gate handed over %v and keeps %d", r2.got, len(shut.kept))
	}
}
