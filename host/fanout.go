package host

import (
	"context"
	"time"

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
type pluginSubscriber struct {
	name    string
	plugin  pluginapi.Plugin
	sem     chan struct{}
	metrics *admin.Metrics
}

func newPluginSubscriber(name string, p pluginapi.Plugin, m *admin.Metrics) *pluginSubscriber {
	return &pluginSubscriber{name: name, plugin: p, sem: make(chan struct{}, 1), metrics: m}
}

// Deliver hands d to the plugin, one delivery at a time.
func (s *pluginSubscriber) Deliver(ctx context.Context, d event.Delivery) error {
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
