// Package dispatch fans the events of a Heksher client out to subscribers,
// each behind its own bounded queue and worker, so that a slow, failing or
// hung subscriber only ever delays itself.
//
// # Quick start
//
//	d := dispatch.New(dispatch.WithLogger(logger))
//	defer d.Close(ctx)
//	err := d.Subscribe("audit", event.SetOf(event.KindSettingChanged),
//		dispatch.SubscriberFunc(func(ctx context.Context, del event.Delivery) error {
//			ch := del.Event.(*event.SettingChanged)
//			return audit.Record(ctx, ch.Setting, ch.Old, ch.New)
//		}), dispatch.QueueSize(128), dispatch.Deadline(2*time.Second))
//
// A client publishes into the dispatcher (pass it with heksher.WithDispatcher
// to share one between the client and a plugin host).
//
// # Delivery
//
// [Dispatcher.Publish] never blocks: it appends the event to the queue of
// every subscriber whose kind set holds the event's kind and returns. Each
// subscriber has one worker goroutine that hands it the events one at a time,
// in publication order, wrapped in an [event.Delivery] numbered per
// subscriber. When a queue is full the oldest queued event is dropped (never a
// [event.Closing]); the number it consumed shows as a gap, and the next
// delivery's Dropped says how many were lost. A subscription with a
// [Filter] gets only the events it accepts (the plugin host's choice of
// setting changes per plugin); they are filtered before they are queued and
// numbered, so a gap is still a drop. [Dispatcher.Detach] removes a
// subscriber and reports what it discarded, for a caller that hands it one
// last event of its own in the same numbering.
//
// Every delivery gets a context with the subscriber's deadline. A subscriber
// that returns an error or panics is counted (the panic is recovered and
// logged) and the worker goes on. A subscriber that ignores its context and
// runs past the deadline is abandoned: the worker counts it and moves on to
// the next event, while the abandoned call finishes on its own goroutine. An
// abandoned call may therefore still be running while the next delivery to
// the same subscriber starts.
//
// # Concurrency
//
// A [Dispatcher] is safe for concurrent use. [Dispatcher.Close] delivers what
// is already queued, then stops the workers; it waits for them, bounded by
// its context. Events published after Close are discarded.
//
// # Statistics
//
// [Dispatcher.Stats] returns, at any time, each subscriber's counters:
// delivered, dropped, failed, panics, abandoned, queued, and the last error.
package dispatch
