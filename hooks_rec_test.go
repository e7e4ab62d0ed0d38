package heksher

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
)

// recHook records every event it receives, in order.
type recHook struct {
	mu   sync.Mutex
	evs  []event.Event
	wake chan struct{}
}

func newRecHook() *recHook { return &recHook{wake: make(chan struct{}, 1)} }

func (h *recHook) add(e event.Event) {
	h.mu.Lock()
	h.evs = append(h.evs, e)
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

func (h *recHook) OnDeclared(_ context.Context, e *event.Declared)             { h.add(e) }
func (h *recHook) OnUpdateOK(_ context.Context, e *event.UpdateOK)             { h.add(e) }
func (h *recHook) OnUpdateError(_ context.Context, e *event.UpdateError)       { h.add(e) }
func (h *recHook) OnSettingChanged(_ context.Context, e *event.SettingChanged) { h.add(e) }
func (h *recHook) OnClosing(_ context.Context, e *event.Closing)               { h.add(e) }

func (h *recHook) events() []event.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]event.Event(nil), h.evs...)
}

// kinds returns the kinds received, optionally only those in set.
func (h *recHook) kinds(set event.Set) []event.Kind {
	var out []event.Kind
	for _, e := range h.events() {
		if set.Has(e.Kind()) {
			out = append(out, e.Kind())
		}
	}
	return out
}

// waitKinds waits until n events of kind k arrived and returns them.
func (h *recHook) waitKind(t *testing.T, k event.Kind, n int) []event.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		var got []event.Event
		for _, e := range h.events() {
			if e.Kind() == k {
				got = append(got, e)
			}
		}
		if len(got) >= n {
			return got
		}
		select {
		case <-h.wake:
		case <-deadline:
			t.Fatalf("waited for %d %v events, got %d", n, k, len(got))
		}
	}
}
