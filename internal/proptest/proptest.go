// Package proptest measures propagation: how long a change made at a
// Heksher server takes to reach a client, as the time from the write to the
// client's SettingChanged event. The client under test may talk to the
// server directly or through relays; the probe only needs its hooks.
//
//	probe := proptest.NewProbe("size_limit")
//	c, _ := heksher.NewClient(url, interval, features, heksher.WithHooks(probe))
//	…
//	lat, err := proptest.Measure(ctx, 100, func(ctx context.Context, i int) error {
//		return srv.SetRuleValue(ruleID, i) // a change the client's query sees
//	}, probe)
//	p99 := proptest.Percentile(lat, 0.99)
//
// A Probe is safe for concurrent use.
package proptest

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/event"
)

// Probe is a [heksher.Hook] that notes when a change of one setting
// reaches the client. Build it with [NewProbe]; give it to the client with
// heksher.WithHooks.
type Probe struct {
	heksher.NopHook
	setting string
	arrived chan time.Time
}

var _ heksher.Hook = (*Probe)(nil)

// NewProbe returns a probe of the setting named setting.
func NewProbe(setting string) *Probe {
	return &Probe{setting: setting, arrived: make(chan time.Time, 1)}
}

// OnSettingChanged notes the arrival of a change of the probe's setting.
// The time noted is that of the event's delivery, which follows the
// client's update at once (the hook's queue is empty between changes).
func (p *Probe) OnSettingChanged(_ context.Context, e *event.SettingChanged) {
	if e.Setting != p.setting {
		return
	}
	now := time.Now()
	select {
	case p.arrived <- now:
	default:
		// An arrival nobody waits for yet: keep the latest.
		select {
		case <-p.arrived:
		default:
		}
		p.arrived <- now
	}
}

// Drain forgets arrivals noted so far.
func (p *Probe) Drain() {
	select {
	case <-p.arrived:
	default:
	}
}

// Wait returns when the next change arrives (or the one already noted).
//
// # Errors
//
// ctx's error when it ends first.
func (p *Probe) Wait(ctx context.Context) (time.Time, error) {
	select {
	case t := <-p.arrived:
		return t, nil
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
}

// Measure makes n changes one after the other with change(ctx, i), i from
// 0, each once the previous one has reached the probe, and returns how long
// each took to arrive.
//
// # Errors
//
// The first error of change, or ctx's error when a change does not arrive
// in time; the latencies measured until then are returned with it.
func Measure(ctx context.Context, n int, change func(ctx context.Context, i int) error, probe *Probe) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for i := range n {
		probe.Drain()
		start := time.Now()
		if err := change(ctx, i); err != nil {
			return out, fmt.Errorf("proptest: change %d: %w", i, err)
		}
		at, err := probe.Wait(ctx)
		if err != nil {
			return out, fmt.Errorf("proptest: change %d did not arrive: %w", i, err)
		}
		out = append(out, at.Sub(start))
	}
	return out, nil
}

// Percentile returns the p-th quantile (0 < p ≤ 1) of ds by the nearest
// rank; 0 for none.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}
