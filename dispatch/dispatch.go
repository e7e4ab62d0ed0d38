package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heksher-go/heksher/event"
)

// Errors returned by [Dispatcher.Subscribe].
var (
	// ErrClosed is returned when subscribing to a closed dispatcher.
	ErrClosed = errors.New("dispatch: dispatcher closed")
	// ErrDuplicate is returned when a subscriber name is already in use.
	ErrDuplicate = errors.New("dispatch: subscriber name already in use")
)

// Subscriber receives events. Deliver is called from the subscriber's own
// worker goroutine, one delivery at a time (unless an earlier call overran its
// deadline and was abandoned). It should return when ctx is done; a returned
// error is counted and logged, and never stops later deliveries. The
// delivery's event is shared with other subscribers and must not be modified.
type Subscriber interface {
	Deliver(ctx context.Context, d event.Delivery) error
}

// SubscriberFunc adapts a function to a [Subscriber].
type SubscriberFunc func(ctx context.Context, d event.Delivery) error

// Deliver calls f(ctx, d).
func (f SubscriberFunc) Deliver(ctx context.Context, d event.Delivery) error { return f(ctx, d) }

// Default limits of a subscription.
const (
	DefaultQueueSize = 256
	DefaultDeadline  = 5 * time.Second
)

type config struct {
	logger    *slog.Logger
	queueSize int
	deadline  time.Duration
}

// Option configures a [Dispatcher].
type Option func(*config)

// WithLogger sets the logger for subscriber failures, panics and abandoned
// calls. Default: a logger that discards everything.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithDefaults sets the queue size and per-delivery deadline of subscriptions
// that do not set their own. Default: [DefaultQueueSize], [DefaultDeadline].
// Values ≤ 0 keep the default.
func WithDefaults(queueSize int, deadline time.Duration) Option {
	return func(c *config) {
		if queueSize > 0 {
			c.queueSize = queueSize
		}
		if deadline > 0 {
			c.deadline = deadline
		}
	}
}

// SubscribeOption configures one subscription.
type SubscribeOption func(*subConfig)

type subConfig struct {
	queueSize int
	deadline  time.Duration
	filter    func(event.Event) bool
}

// QueueSize bounds the subscriber's queue (default: the dispatcher's, see
// [WithDefaults]). Values ≤ 0 keep the default.
func QueueSize(n int) SubscribeOption {
	return func(c *subConfig) {
		if n > 0 {
			c.queueSize = n
		}
	}
}

// Deadline bounds each delivery to the subscriber (default: the
// dispatcher's). Values ≤ 0 keep the default.
func Deadline(d time.Duration) SubscribeOption {
	return func(c *subConfig) {
		if d > 0 {
			c.deadline = d
		}
	}
}

// Filter narrows the subscription to the events of its kinds for which
// accept answers true (default: all of them). accept is called by Publish,
// on the publisher's goroutine, for every event of the subscription's
// kinds: it must be fast and must not block. A [event.Closing] event is
// always delivered, whatever accept answers. Filtered events are not
// numbered: the subscriber's numbering has gaps only for drops.
func Filter(accept func(event.Event) bool) SubscribeOption {
	return func(c *subConfig) { c.filter = accept }
}

// Dispatcher fans events out to subscribers. Create it with [New]; it is safe
// for concurrent use and must not be copied.
type Dispatcher struct {
	cfg    config
	subs   atomic.Pointer[[]*subscription] // copy-on-write; read by Publish without locking
	mu     sync.Mutex                      // serialises Subscribe, Unsubscribe and Close
	closed atomic.Bool
	wg     sync.WaitGroup
	ctx    context.Context // parent of delivery contexts; cancelled when Close gives up
	cancel context.CancelFunc
}

// New returns a dispatcher with no subscribers. It starts no goroutine until
// the first Subscribe.
func New(opts ...Option) *Dispatcher {
	cfg := config{queueSize: DefaultQueueSize, deadline: DefaultDeadline}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{cfg: cfg}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.subs.Store(&[]*subscription{})
	return d
}

// Subscribe adds a subscriber named name (unique within the dispatcher) that
// receives the events whose kind is in kinds, and starts its worker.
//
// # Errors
//
// [ErrDuplicate] if the name is taken; [ErrClosed] after Close.
func (d *Dispatcher) Subscribe(name string, kinds event.Set, sub Subscriber, opts ...SubscribeOption) error {
	if sub == nil {
		return fmt.Errorf("dispatch: subscribe %q: nil subscriber", name)
	}
	sc := subConfig{queueSize: d.cfg.queueSize, deadline: d.cfg.deadline}
	for _, o := range opts {
		o(&sc)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed.Load() {
		return fmt.Errorf("dispatch: subscribe %q: %w", name, ErrClosed)
	}
	cur := *d.subs.Load()
	for _, s := range cur {
		if s.name == name {
			return fmt.Errorf("dispatch: subscribe %q: %w", name, ErrDuplicate)
		}
	}
	s := newSubscription(d, name, kinds, sub, sc)
	next := append(slices.Clip(cur), s)
	d.subs.Store(&next)
	d.wg.Add(1)
	go s.run()
	return nil
}

// Unsubscribe removes the named subscriber: its queued events are discarded
// and its worker stops after the delivery in progress, if any. It reports
// whether the name was subscribed.
func (d *Dispatcher) Unsubscribe(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur := *d.subs.Load()
	i := slices.IndexFunc(cur, func(s *subscription) bool { return s.name == name })
	if i < 0 {
		return false
	}
	next := slices.Delete(slices.Clone(cur), i, i+1)
	d.subs.Store(&next)
	cur[i].stop(true)
	return true
}

// Detached is what [Dispatcher.Detach] returns about a subscriber it
// removed.
type Detached struct {
	// Discarded are the events that were still queued, oldest first.
	Discarded []event.Event
	// Dropped counts the events dropped from the subscriber's full queue
	// since its last delivery (they are not among Discarded).
	Dropped uint64
	// Next is the number its next delivery would have had; the worker
	// may still be running the delivery before it.
	Next uint64
}

// Detach removes the named subscriber as Unsubscribe does and returns what
// it discarded, so that the caller can hand the subscriber one last event
// of its own, numbered after them (the plugin host's closing event for a
// plugin it replaces). ok is false if the name was not subscribed.
func (d *Dispatcher) Detach(name string) (_ Detached, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur := *d.subs.Load()
	i := slices.IndexFunc(cur, func(s *subscription) bool { return s.name == name })
	if i < 0 {
		return Detached{}, false
	}
	next := slices.Delete(slices.Clone(cur), i, i+1)
	d.subs.Store(&next)
	return cur[i].detach(), true
}

// Publish queues e for every subscriber whose kinds include e's kind. It
// never blocks and never calls a subscriber. After Close it does nothing.
func (d *Dispatcher) Publish(e event.Event) {
	if e == nil || d.closed.Load() {
		return
	}
	k := e.Kind()
	for _, s := range *d.subs.Load() {
		if s.kinds.Has(k) && (s.cfg.filter == nil || k == event.KindClosing || s.cfg.filter(e)) {
			s.enqueue(e)
		}
	}
}

// Close stops accepting events, lets every worker deliver what is already
// queued (deadlines still apply), and waits for the workers. If ctx ends
// first, the deliveries in progress are cancelled, what is still queued is
// discarded, and ctx's error is returned once the workers are gone. Close is
// idempotent.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	if !d.closed.Swap(true) {
		for _, s := range *d.subs.Load() {
			s.stop(false)
		}
	}
	d.mu.Unlock()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		d.cancel()
		return nil
	case <-ctx.Done():
		d.cancel()
		<-done
		return fmt.Errorf("dispatch: close: %w", ctx.Err())
	}
}

// Stats returns every subscriber's counters, in subscription order.
func (d *Dispatcher) Stats() []Stats {
	cur := *d.subs.Load()
	out := make([]Stats, 0, len(cur))
	for _, s := range cur {
		out = append(out, s.stats())
	}
	return out
}

// Stats are one subscriber's counters.
type Stats struct {
	Name      string
	Delivered uint64 // deliveries that returned nil
	Dropped   uint64 // events dropped from a full queue
	Failed    uint64 // deliveries that returned an error
	Panics    uint64 // deliveries that panicked
	Abandoned uint64 // deliveries abandoned after overrunning the deadline
	Queued    int    // events waiting now
	LastError error  // the last error, panic or overrun; nil if none
}
