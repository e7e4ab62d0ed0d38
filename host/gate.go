package host

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/heksher-go/heksher/dispatch"
	"github.com/heksher-go/heksher/event"
)

// startGate is the dispatcher's subscriber for a plugin that loads at
// start-up. It is subscribed before the first update, so that the plugin
// receives the first update's events although its load ends after them
// (the first update never waits for a plugin). While the plugin loads, the
// gate keeps what arrives, at most the plugin's queue size (the oldest
// dropped first, never a closing event); once the plugin is loaded, open
// hands what was kept to it in order, each delivery with the plugin's
// deadline, and later deliveries go straight through. A plugin that fails to
// load never sees what was kept.
//
// The gate numbers what it hands over itself (Seq, Dropped), counting the
// events it or the dispatcher dropped and skipping the events the plugin
// does not receive (its kinds and settings, known only once it is loaded),
// so that a gap in the plugin's numbering is always a drop.
type startGate struct {
	limit    int
	deadline time.Duration

	mu      sync.Mutex
	state   gateState
	kept    []event.Delivery
	target  dispatch.Subscriber
	accept  func(event.Event) bool
	seq     uint64 // of the last delivery handed over
	dropped uint64 // dropped since the last delivery handed over
	lost    uint64 // dropped by the gate itself, in all
}

type gateState uint8

const (
	gateLoading gateState = iota // keeping what arrives
	gateOpening                  // handing over what was kept; keeping what arrives
	gateOpen                     // passing through
	gateShut                     // the plugin did not load: dropping everything
)

func newStartGate(limit int, deadline time.Duration) *startGate {
	return &startGate{limit: max(limit, 1), deadline: deadline}
}

// Deliver passes d to the plugin once it is open, and keeps it until then.
func (g *startGate) Deliver(ctx context.Context, d event.Delivery) error {
	g.mu.Lock()
	switch g.state {
	case gateOpen:
		if !g.wants(d.Event) {
			g.dropped += d.Dropped
			g.mu.Unlock()
			return nil
		}
		d = g.numberLocked(d)
		t := g.target
		g.mu.Unlock()
		return t.Deliver(ctx, d)
	case gateShut:
		g.mu.Unlock()
		return nil
	}
	defer g.mu.Unlock()
	if len(g.kept) >= g.limit {
		g.dropOldestLocked(&d)
	}
	g.kept = append(g.kept, d)
	return nil
}

// dropOldestLocked drops the oldest kept update result (a later one tells
// the same story), or, when none is kept, the oldest event that is not the
// closing event: a slow load under frequent updates keeps the first
// update's setting changes. The event after the dropped one (incoming when
// there is none) counts it and what the dispatcher had dropped before it.
func (g *startGate) dropOldestLocked(incoming *event.Delivery) {
	i := slices.IndexFunc(g.kept, func(k event.Delivery) bool {
		kind := k.Event.Kind()
		return kind == event.KindUpdateOK || kind == event.KindUpdateError
	})
	if i < 0 {
		i = slices.IndexFunc(g.kept, func(k event.Delivery) bool { return k.Event.Kind() != event.KindClosing })
	}
	if i >= 0 {
		g.lost++
		k := g.kept[i]
		if i+1 < len(g.kept) {
			g.kept[i+1].Dropped += k.Dropped + 1
		} else {
			incoming.Dropped += k.Dropped + 1
		}
		g.kept = append(g.kept[:i], g.kept[i+1:]...)
	}
}

// numberLocked renumbers d in the plugin's own sequence.
func (g *startGate) numberLocked(d event.Delivery) event.Delivery {
	d.Dropped += g.dropped
	g.dropped = 0
	g.seq += d.Dropped + 1
	d.Seq = g.seq
	return d
}

// wants reports whether the plugin receives e.
func (g *startGate) wants(e event.Event) bool { return g.accept(e) }

// open hands what was kept to target, keeping only the events accept
// answers true for, then lets later deliveries through. It returns when everything kept was handed
// over, or when ctx ends (what is left is then dropped and counted). It is
// called once, from one goroutine; the dispatcher's worker keeps calling
// Deliver meanwhile, and target never gets two deliveries at once.
func (g *startGate) open(ctx context.Context, target dispatch.Subscriber, accept func(event.Event) bool) {
	g.mu.Lock()
	if g.state != gateLoading {
		g.mu.Unlock()
		return
	}
	g.state, g.target, g.accept = gateOpening, target, accept
	g.mu.Unlock()
	for {
		g.mu.Lock()
		if len(g.kept) == 0 || ctx.Err() != nil {
			for _, k := range g.kept {
				g.dropped += k.Dropped + 1
				g.lost++
			}
			g.kept = nil
			g.state = gateOpen
			g.mu.Unlock()
			return
		}
		d := g.kept[0]
		g.kept = g.kept[1:]
		if !g.wants(d.Event) {
			g.dropped += d.Dropped
			g.mu.Unlock()
			continue
		}
		d = g.numberLocked(d)
		g.mu.Unlock()
		dctx, cancel := context.WithTimeout(ctx, g.deadline)
		_ = target.Deliver(dctx, d) // the plugin's runtime counts and logs its failures
		cancel()
	}
}

// lostCount returns how many events the gate itself dropped (the
// dispatcher counts its own drops).
func (g *startGate) lostCount() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lost
}

// retire shuts the gate of a plugin that a reload retires and returns the
// numbering of the last event the host hands it itself: the number after
// everything the gate handed over, counting as dropped what it still kept
// and what the dispatcher discarded (det) that the plugin would have
// received.
func (g *startGate) retire(det dispatch.Detached) (next, dropped uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	dropped = g.dropped + det.Dropped
	for _, k := range g.kept {
		dropped += k.Dropped
		if g.accept == nil || g.wants(k.Event) {
			dropped++
		}
	}
	for _, e := range det.Discarded {
		if g.accept == nil || g.wants(e) {
			dropped++
		}
	}
	g.state = gateShut
	g.kept = nil
	return g.seq + dropped + 1, dropped
}

// shut drops everything kept and everything that arrives later: the plugin
// did not load.
func (g *startGate) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.state = gateShut
	g.kept = nil
}
