package host

import (
	"context"
	"fmt"
	"time"

	"github.com/heksher-go/heksher/dispatch"
	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/admin"
	"github.com/heksher-go/heksher/pluginapi"
)

// pluginSubscriber adapts a [pluginapi.Plugin] to a dispatch.Subscriber.
//
// The dispatcher may abandon a delivery that overruns its deadline and start
// the next one while the first is still running; pluginapi.Plugin promises its
// runtime that Deliver is never called concurrently with itself, so the
// adapter holds a one-slot semaphore, waiting for it no longer than the new
// delivery's own deadline.
//
// It also marks each setting change the plugin may not read
// ([event.Delivery.Unreadable]); which changes reach it at all is decided
// before they are queued (see [eventFilter]).
type pluginSubscriber struct {
	name     string
	plugin   pluginapi.Plugin
	sem      chan struct{}
	metrics  *admin.Metrics
	readable func(setting string) bool // nil: every setting
}

func newPluginSubscriber(name string, p pluginapi.Plugin, m *admin.Metrics, readable func(string) bool) *pluginSubscriber {
	return &pluginSubscriber{name: name, plugin: p, sem: make(chan struct{}, 1), metrics: m, readable: readable}
}

// Deliver hands d to the plugin, one delivery at a time.
func (s *pluginSubscriber) Deliver(ctx context.Context, d event.Delivery) error {
	if sc, ok := d.Event.(*event.SettingChanged); ok && s.readable != nil {
		d.Unreadable = !s.readable(sc.Setting)
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	defer func() { <-s.sem }()
	start := time.Now()
	err := s.plugin.Deliver(ctx, d)
	if s.metrics != nil {
		s.metrics.ObserveDeliveryResult(s.name, time.Since(start), err)
	}
	return err
}

// eventFilter decides which events a plugin receives: the kinds it
// subscribed to and, of setting changes, those of the settings it declared
// or selected ([pluginapi.Manifest.Settings]).
type eventFilter struct {
	kinds    event.Set
	all      bool
	settings map[string]bool
}

func newEventFilter(m pluginapi.Manifest) *eventFilter {
	f := &eventFilter{kinds: m.Subscriptions, settings: map[string]bool{}}
	for _, d := range m.Declarations {
		f.settings[d.Name] = true
	}
	for _, n := range m.Settings {
		if n == pluginapi.AllSettings {
			f.all = true
		}
		f.settings[n] = true
	}
	return f
}

// accept reports whether the plugin receives e. It runs on the publisher's
// goroutine: a map lookup at most.
func (f *eventFilter) accept(e event.Event) bool {
	if !f.kinds.Has(e.Kind()) {
		return false
	}
	if sc, ok := e.(*event.SettingChanged); ok && !f.all {
		return f.settings[sc.Setting]
	}
	return true
}

// subscribeOptions are the dispatcher options of a plugin's subscription.
func (f *eventFilter) subscribeOptions(queue int, deadline time.Duration) []dispatch.SubscribeOption {
	opts := []dispatch.SubscribeOption{dispatch.QueueSize(queue), dispatch.Deadline(deadline)}
	if !f.all {
		opts = append(opts, dispatch.Filter(f.accept))
	}
	return opts
}

// readableBy returns the function that tells whether the plugin named
// plugin may read a setting, as its lookups decide: it declared it, or it
// has the grant to read undeclared settings and the setting exists.
func (m *manager) readableBy(plugin string, undeclaredReads bool) func(string) bool {
	return func(setting string) bool {
		declared, exists := m.reg.declaredBy(setting, plugin)
		return declared || (exists && undeclaredReads)
	}
}

// sayClosing hands a plugin that a reload retires its closing event, with
// reason, numbered after what its subscription discarded (next, dropped),
// and waits for it at most the plugin's deadline (and a tenth of it for a
// plugin that noticed the deadline to return): a plugin that hangs in its
// closing handler, even one that ignores its context, delays the reload by
// that much, no more, and is then closed whatever it does. The call left
// behind ends when the plugin returns, as the dispatcher's abandoned calls
// do.
func (s *pluginSubscriber) sayClosing(ctx context.Context, reason event.ClosingReason, next, dropped uint64, deadline time.Duration) error {
	cause := fmt.Errorf("host: plugin %q: its closing event overran its deadline (%v)", s.name, deadline)
	ctx, cancel := context.WithTimeoutCause(ctx, deadline, cause)
	done := make(chan error, 1)
	go func() {
		defer cancel()
		done <- s.Deliver(ctx, event.Delivery{
			Event: &event.Closing{Header: event.Header{Time: time.Now()}, Reason: reason},
			Seq:   next, Dropped: dropped,
		})
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	grace := time.NewTimer(deadline/10 + time.Millisecond)
	defer grace.Stop()
	select {
	case err := <-done:
		return err
	case <-grace.C:
		return cause
	}
}
