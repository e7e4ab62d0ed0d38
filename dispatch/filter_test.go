package dispatch

import (
	"context"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
)

func changed(seq uint64, setting string) event.Event {
	return &event.SettingChanged{Header: event.Header{Seq: seq}, Setting: setting}
}

// A filtered subscription gets only what its filter accepts (and closing
// events), numbered without gaps: a gap stays a drop.
func TestDispatcher_Filter(t *testing.T) {
	d := New()
	r := &recorder{}
	onlyA := Filter(func(e event.Event) bool {
		sc, ok := e.(*event.SettingChanged)
		return ok && sc.Setting == "a"
	})
	if err := d.Subscribe("a", event.All, r, onlyA); err != nil {
		t.Fatal(err)
	}
	d.Publish(changed(1, "a"))
	d.Publish(changed(2, "b"))
	d.Publish(ok(3))
	d.Publish(changed(4, "a"))
	d.Publish(closing(5))
	closeNow(t, d)
	got := r.deliveries()
	want := []struct{ ev, seq uint64 }{{1, 1}, {4, 2}, {5, 3}}
	if len(got) != len(want) {
		t.Fatalf("got %d deliveries, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Event.Head().Seq != w.ev || got[i].Seq != w.seq || got[i].Dropped != 0 {
			t.Errorf("delivery %d: event %d seq %d dropped %d; want event %d seq %d", i, got[i].Event.Head().Seq, got[i].Seq, got[i].Dropped, w.ev, w.seq)
		}
	}
}

// Detach reports what it discarded and the number after it, so that a last
// event handed over by the caller continues the subscriber's numbering.
func TestDispatcher_Detach(t *testing.T) {
	d := New()
	defer closeNow(t, d)
	gate := make(chan struct{})
	r := &recorder{gate: gate}
	if err := d.Subscribe("slow", event.All, r, QueueSize(2)); err != nil {
		t.Fatal(err)
	}
	d.Publish(ok(1)) // taken by the worker, which waits on gate
	deadline := time.Now().Add(30 * time.Second)
	for d.Stats()[0].Queued != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the worker never took the first event")
		}
		time.Sleep(time.Millisecond)
	}
	for i := uint64(2); i <= 5; i++ { // 2 and 3 are dropped from the full queue
		d.Publish(ok(i))
	}
	det, found := d.Detach("slow")
	close(gate)
	if !found {
		t.Fatal("Detach did not find the subscriber")
	}
	if len(det.Discarded) != 2 || det.Discarded[0].Head().Seq != 4 || det.Discarded[1].Head().Seq != 5 {
		t.Errorf("discarded %v; want events 4 and 5", det.Discarded)
	}
	if det.Dropped != 2 || det.Next != 6 {
		t.Errorf("dropped %d, next %d; want 2 and 6", det.Dropped, det.Next)
	}
	if _, found := d.Detach("slow"); found {
		t.Error("a second Detach found the subscriber")
	}
	d.Publish(ok(6))
}

// BenchmarkPublish_SettingChanged20 measures Publish of one setting change
// to 20 subscribers whose workers are busy (Publish only enqueues): without
// filters, every subscriber queues it; with the plugin host's kind of
// filter (a map lookup of the setting), one in ten does.
func BenchmarkPublish_SettingChanged20(b *testing.B) {
	for _, filtered := range []bool{false, true} {
		name := "unfiltered"
		if filtered {
			name = "filtered"
		}
		b.Run(name, func(b *testing.B) {
			d := New(WithDefaults(1024, time.Minute))
			gate := make(chan struct{})
			for i := range 20 {
				var opts []SubscribeOption
				if filtered {
					wanted := map[string]bool{"own" + string(rune('a'+i)): true}
					if i%10 == 0 {
						wanted["discount"] = true
					}
					opts = append(opts, Filter(func(e event.Event) bool {
						sc, ok := e.(*event.SettingChanged)
						return !ok || wanted[sc.Setting]
					}))
				}
				_ = d.Subscribe(string(rune('a'+i)), event.All, SubscriberFunc(func(context.Context, event.Delivery) error { <-gate; return nil }), opts...)
			}
			e := changed(1, "discount")
			b.ReportAllocs()
			for b.Loop() {
				d.Publish(e)
			}
			b.StopTimer()
			for _, s := range *d.subs.Load() {
				s.stop(true)
			}
			close(gate)
			_ = d.Close(context.Background())
		})
	}
}
