package dispatch

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/heksher-go/heksher/event"
)

type item struct {
	ev  event.Event
	seq uint64
}

// subscription is one subscriber with its queue and worker.
type subscription struct {
	d     *Dispatcher
	name  string
	kinds event.Set
	sub   Subscriber
	cfg   subConfig

	wake chan struct{} // capacity 1: "the queue may be non-empty"
	quit chan struct{} // closed by stop

	mu      sync.Mutex
	queue   ring
	seq     uint64
	dropped uint64 // dropped since the last delivery

	// Owned by the worker goroutine.
	caller *caller
	timer  *time.Timer

	stopping bool
	discard  bool
	st       Stats
}

func newSubscription(d *Dispatcher, name string, kinds event.Set, sub Subscriber, cfg subConfig) *subscription {
	return &subscription{
		d: d, name: name, kinds: kinds, sub: sub, cfg: cfg,
		wake: make(chan struct{}, 1), quit: make(chan struct{}),
		st: Stats{Name: name},
	}
}

func (s *subscription) enqueue(e event.Event) {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return
	}
	s.seq++
	if s.queue.len() >= s.cfg.queueSize {
		// Drop the oldest event that is not the Closing event, which a
		// subscriber must always see.
		if s.queue.dropOldest(func(it item) bool { return it.ev.Kind() != event.KindClosing }) {
			s.dropped++
			s.st.Dropped++
		}
	}
	s.queue.push(item{ev: e, seq: s.seq})
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// stop asks the worker to end: after draining the queue, or at once with
// discard.
func (s *subscription) stop(discard bool) {
	s.mu.Lock()
	if !s.stopping {
		s.stopping = true
		s.discard = discard
		if discard {
			s.queue = ring{}
		}
		close(s.quit)
	}
	s.mu.Unlock()
}

// detach stops the worker at once, discarding the queue, and reports what
// it discarded.
func (s *subscription) detach() Detached {
	s.mu.Lock()
	var out Detached
	for s.queue.len() > 0 {
		out.Discarded = append(out.Discarded, s.queue.pop().ev)
	}
	out.Dropped, out.Next = s.dropped, s.seq+1
	s.mu.Unlock()
	s.stop(true)
	return out
}

func (s *subscription) next() (item, uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queue.len() == 0 || s.discard {
		return item{}, 0, false
	}
	it := s.queue.pop()
	dropped := s.dropped
	s.dropped = 0
	return it, dropped, true
}

func (s *subscription) run() {
	defer s.d.wg.Done()
	defer func() {
		if s.caller != nil {
			close(s.caller.calls)
		}
	}()
	for {
		for {
			if s.d.ctx.Err() != nil {
				return
			}
			it, dropped, ok := s.next()
			if !ok {
				break
			}
			s.deliver(event.Delivery{Event: it.ev, Seq: it.seq, Dropped: dropped})
		}
		select {
		case <-s.wake:
		case <-s.quit:
			// Drain what arrived before stop, then end.
			for {
				it, dropped, ok := s.next()
				if !ok || s.d.ctx.Err() != nil {
					return
				}
				s.deliver(event.Delivery{Event: it.ev, Seq: it.seq, Dropped: dropped})
			}
		}
	}
}

// caller runs the subscriber's calls on a goroutine of its own, so that a
// subscriber ignoring its context cannot hold the worker past the deadline.
// A caller is reused from one delivery to the next until a call is abandoned;
// the abandoned caller then exits whenever its call returns.
type caller struct {
	calls chan event.Delivery
	ctxs  chan context.Context
	done  chan error
}

func (s *subscription) startCaller() *caller {
	c := &caller{calls: make(chan event.Delivery), ctxs: make(chan context.Context, 1), done: make(chan error, 1)}
	go func() {
		for del := range c.calls {
			c.done <- s.invoke(<-c.ctxs, del)
		}
	}()
	return c
}

func (s *subscription) invoke(ctx context.Context, del event.Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.d.cfg.logger.Error("dispatch: subscriber panicked",
				"subscriber", s.name, "kind", del.Event.Kind().String(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = &panicError{value: r}
		}
	}()
	return s.sub.Deliver(ctx, del)
}

func (s *subscription) deliver(del event.Delivery) {
	if s.caller == nil {
		s.caller = s.startCaller()
	}
	c := s.caller
	ctx, cancel := context.WithTimeout(s.d.ctx, s.cfg.deadline)
	defer cancel()
	c.ctxs <- ctx
	c.calls <- del
	if s.timer == nil {
		s.timer = time.NewTimer(s.cfg.deadline)
	} else {
		s.timer.Reset(s.cfg.deadline)
	}
	var err error
	select {
	case err = <-c.done:
		s.timer.Stop()
	case <-s.timer.C:
		// Give a well-behaved subscriber that noticed ctx a moment to return.
		s.timer.Reset(s.cfg.deadline/10 + time.Millisecond)
		select {
		case err = <-c.done:
			s.timer.Stop()
		case <-s.timer.C:
			close(c.calls) // the stuck caller exits once its call returns
			s.caller = nil
			s.mu.Lock()
			s.st.Abandoned++
			s.st.LastError = fmt.Errorf("dispatch: subscriber %q overran its %v deadline on event %d", s.name, s.cfg.deadline, del.Event.Head().Seq)
			s.mu.Unlock()
			s.d.cfg.logger.Warn("dispatch: subscriber abandoned after its deadline",
				"subscriber", s.name, "kind", del.Event.Kind().String(), "deadline", s.cfg.deadline)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var pe *panicError
	switch {
	case err == nil:
		s.st.Delivered++
	case errors.As(err, &pe):
		s.st.Panics++
		s.st.LastError = err
	default:
		s.st.Failed++
		s.st.LastError = err
		s.d.cfg.logger.Warn("dispatch: subscriber failed", "subscriber", s.name, "kind", del.Event.Kind().String(), "error", err)
	}
}

func (s *subscription) stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.Queued = s.queue.len()
	return st
}

type panicError struct{ value any }

func (p *panicError) Error() string { return fmt.Sprintf("dispatch: subscriber panicked: %v", p.value) }
