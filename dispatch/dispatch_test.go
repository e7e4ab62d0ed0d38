package dispatch

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heksher-go/heksher/event"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type recorder struct {
	mu   sync.Mutex
	got  []event.Delivery
	gate chan struct{} // when non-nil, every delivery waits for it (ignoring ctx)
}

func (r *recorder) Deliver(ctx context.Context, d event.Delivery) error {
	if r.gate != nil {
		<-r.gate
	}
	r.mu.Lock()
	r.got = append(r.got, d)
	r.mu.Unlock()
	return nil
}

func (r *recorder) deliveries() []event.Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Delivery(nil), r.got...)
}

func ok(seq uint64) event.Event       { return &event.UpdateOK{Header: event.Header{Seq: seq}} }
func closing(seq uint64) event.Event  { return &event.Closing{Header: event.Header{Seq: seq}} }
func declared(seq uint64) event.Event { return &event.Declared{Header: event.Header{Seq: seq}} }

func closeNow(t *testing.T, d *Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestDispatcher_OrderKindsAndNumbering(t *testing.T) {
	d := New()
	all, oks := &recorder{}, &recorder{}
	if err := d.Subscribe("all", event.All, all); err != nil {
		t.Fatal(err)
	}
	if err := d.Subscribe("oks", event.SetOf(event.KindUpdateOK, event.KindClosing), oks); err != nil {
		t.Fatal(err)
	}
	if err := d.Subscribe("all", event.All, all); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate name: err = %v", err)
	}
	d.Publish(declared(1))
	d.Publish(ok(2))
	d.Publish(ok(3))
	d.Publish(closing(4))
	closeNow(t, d)
	d.Publish(ok(5)) // after Close: discarded
	tests := []struct {
		name    string
		r       *recorder
		wantEvs []uint64
	}{
		{"all", all, []uint64{1, 2, 3, 4}},
		{"oks", oks, []uint64{2, 3, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.r.deliveries()
			if len(got) != len(tc.wantEvs) {
				t.Fatalf("got %d deliveries, want %d", len(got), len(tc.wantEvs))
			}
			for i, del := range got {
				if del.Event.Head().Seq != tc.wantEvs[i] || del.Seq != uint64(i+1) || del.Dropped != 0 {
					t.Fatalf("delivery %d = {event %d, seq %d, dropped %d}", i, del.Event.Head().Seq, del.Seq, del.Dropped)
				}
			}
		})
	}
	if err := d.Subscribe("late", event.All, all); !errors.Is(err, ErrClosed) {
		t.Fatalf("subscribe after close: err = %v", err)
	}
}

func TestDispatcher_DropOldestKeepsClosing(t *testing.T) {
	d := New()
	gate := make(chan struct{})
	r := &recorder{gate: gate}
	if err := d.Subscribe("slow", event.All, r, QueueSize(2)); err != nil {
		t.Fatal(err)
	}
	d.Publish(ok(1)) // taken by the worker at once, blocked on gate
	waitFor(t, func() bool { return d.Stats()[0].Queued == 0 })
	d.Publish(ok(2))
	d.Publish(closing(3))
	d.Publish(ok(4)) // queue full: drops 2, keeps Closing
	d.Publish(ok(5)) // queue full: drops 4, keeps Closing
	close(gate)
	closeNow(t, d)
	got := r.deliveries()
	var evs, seqs []uint64
	for _, del := range got {
		evs = append(evs, del.Event.Head().Seq)
		seqs = append(seqs, del.Seq)
	}
	if want := []uint64{1, 3, 5}; !equal(evs, want) {
		t.Fatalf("events = %v, want %v", evs, want)
	}
	if want := []uint64{1, 3, 5}; !equal(seqs, want) {
		t.Fatalf("delivery seqs = %v, want %v (gaps for drops)", seqs, want)
	}
	if got[1].Dropped != 2 {
		t.Fatalf("Dropped = %d, want 2", got[1].Dropped)
	}
	if st := d.Stats()[0]; st.Dropped != 2 || st.Delivered != 3 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestDispatcher_FailuresPanicsAndHangs(t *testing.T) {
	d := New(WithDefaults(0, 500*time.Millisecond)) // generous: a loaded machine must not turn a quick failure into an overrun
	release := make(chan struct{})
	defer close(release)
	calls := 0
	var mu sync.Mutex
	sub := SubscriberFunc(func(ctx context.Context, del event.Delivery) error {
		mu.Lock()
		calls++
		mu.Unlock()
		switch del.Event.Head().Seq {
		case 1:
			return errors.New("boom")
		case 2:
			panic("kaboom")
		case 3:
			<-release // ignores ctx: must be abandoned
		}
		return nil
	})
	if err := d.Subscribe("bad", event.All, sub); err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= 4; i++ {
		d.Publish(ok(i))
	}
	waitFor(t, func() bool { st := d.Stats()[0]; return st.Delivered == 1 })
	st := d.Stats()[0]
	if st.Failed != 1 || st.Panics != 1 || st.Abandoned != 1 || st.Delivered != 1 || st.LastError == nil {
		t.Fatalf("stats = %+v", st)
	}
	closeNow(t, d)
}

func TestDispatcher_Unsubscribe(t *testing.T) {
	d := New()
	r := &recorder{}
	if err := d.Subscribe("a", event.All, r); err != nil {
		t.Fatal(err)
	}
	if !d.Unsubscribe("a") || d.Unsubscribe("a") {
		t.Fatal("Unsubscribe result")
	}
	d.Publish(ok(1))
	closeNow(t, d)
	if len(r.deliveries()) != 0 || len(d.Stats()) != 0 {
		t.Fatal("delivered after unsubscribe")
	}
}

func TestDispatcher_CloseBoundedByContext(t *testing.T) {
	d := New(WithDefaults(0, time.Hour))
	release := make(chan struct{})
	started := make(chan struct{})
	sub := SubscriberFunc(func(ctx context.Context, del event.Delivery) error {
		close(started)
		<-ctx.Done() // cooperative: returns when the dispatcher gives up
		<-release
		return ctx.Err()
	})
	if err := d.Subscribe("stuck", event.All, sub); err != nil {
		t.Fatal(err)
	}
	d.Publish(ok(1))
	d.Publish(ok(2))
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	go func() { time.Sleep(100 * time.Millisecond); close(release) }()
	if err := d.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(time.Millisecond)
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// BenchmarkPublish_FanOut20 measures Publish to 20 subscribers whose workers
// keep up (the queues are large enough that nothing is dropped).
func BenchmarkPublish_FanOut20(b *testing.B) {
	d := New(WithDefaults(1<<16, time.Second))
	for i := range 20 {
		_ = d.Subscribe(string(rune('a'+i)), event.All, SubscriberFunc(func(context.Context, event.Delivery) error { return nil }))
	}
	e := ok(1)
	b.ReportAllocs()
	for b.Loop() {
		d.Publish(e)
	}
	b.StopTimer()
	_ = d.Close(context.Background())
}

// BenchmarkPublish_Enqueue20 measures Publish alone: 20 subscribers whose
// workers are busy, so every Publish only enqueues.
func BenchmarkPublish_Enqueue20(b *testing.B) {
	d := New(WithDefaults(1024, time.Minute))
	gate := make(chan struct{})
	for i := range 20 {
		_ = d.Subscribe(string(rune('a'+i)), event.All, SubscriberFunc(func(context.Context, event.Delivery) error { <-gate; return nil }))
	}
	e := ok(1)
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
}
