package wasm

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// watchdog enforces the deadline of a call into one instance, and stops
// the call when the caller's context ends or the plugin is closed, by
// closing the done channel of the instance's [callContext]. wazero's
// close-on-context-done watches that channel during each call and, when it
// closes, sets the module's exit code without closing anything; the code
// wazero compiles with close-on-context-done checks the exit code on every
// loop back-edge and function entry (an exit to Go that panics with the exit
// code), so a pure-wasm `loop br 0` and a Go `for {}` both stop, and the
// call's own goroutine then releases the module's resources (wazero v1.12.0:
// frontend/lower.go emits the check; call_engine.go handles
// ExitCodeCheckModuleExitCode and calls FailIfClosed;
// module_instance.go closeModuleOnCanceledOrTimeout).
//
// Why not module.CloseWithExitCode from the watchdog's goroutine: it also
// closes the module's resources there, while the guest still runs: its file
// system under a WASI call in progress, and its linear memory under a
// memory.grow in progress (a data race in wazero, and, with memory outside
// the Go heap, memory unmapped under running code).
//
// Why not a context deadline: context.WithDeadline adds a timer context per
// call, and a caller's context that can end would be watched through another
// one. The done channel is made once per instance; one timer serves every
// call of the instance: armed before the call and stopped after it, with no
// allocation. The caller's context is watched only when it can end (Done is
// not nil), through context.AfterFunc, which registers a callback with the
// context rather than starting a goroutine. Once fired, the watchdog stays
// fired: the instance is discarded after that call.
//
// A watchdog belongs to the goroutine calling into its instance; fire runs
// on the timer's, the context's or Close's goroutine, hence the mutex.
//
// The watchdog also paces a call that runs long (see [paceAfter]): a second
// timer sets due, and the guest's goroutine then pauses now and then when
// it runs the host's code ([watchdog.pace]).
//
// When a call is first paced, its OS thread is also lowered to [lowNice]
// (the caller locks the goroutine to its thread for the call), and the
// caller restores it after disarm. Only with Go Ps to spare (GOMAXPROCS
// above the number of cores, as heksher-host sets): the Go scheduler cannot
// take its P from a goroutine running a guest, and with GOMAXPROCS at the
// number of cores a thread at nice 19 holding one of them hardly ran while
// the host's other threads kept the cores busy, so the P, its run queue and
// its timers waited with it (the host's lookups paused for up to 1.2 s in
// TestMemoryGrowthDoesNotStallOthers, -race, load average 16–22, against
// 0.2–0.3 s without). With two Ps more than cores, the lookup API's p99
// beside a guest spinning at its memory limit fell from 12–21 ms to 4–10 ms
// (BENCHMARKS.md, "Lookup API p99 beside a faulty plugin").
type watchdog struct {
	timer *time.Timer
	slow  *time.Timer   // sets due once the call has run for paceAfter
	nap   *time.Timer   // ends a pause of a paced call
	done  chan struct{} // closed by fire
	due   atomic.Bool   // the call has run for paceAfter

	// ran is when a paced call last resumed; zero until its first pause
	// is considered. paused is how long the instance's calls have spent
	// in pauses. Only the call's goroutine touches them.
	ran    time.Time
	paused time.Duration

	// locked says the call's goroutine is locked to its thread, whose
	// priority pace lowers (see [lowNice]); tid is that thread once
	// lowered (0 if not), prev its nice value before. Only the call's
	// goroutine touches them.
	locked    bool
	tid, prev int

	mu    sync.Mutex
	armed bool
	fired bool
	cause error // why fire stopped the call
}

func newWatchdog() *watchdog {
	w := &watchdog{done: make(chan struct{})}
	w.timer = time.AfterFunc(time.Hour, func() { w.fire(context.DeadlineExceeded) })
	w.timer.Stop()
	w.slow = time.AfterFunc(time.Hour, w.setDue)
	w.slow.Stop()
	w.nap = time.NewTimer(time.Hour)
	w.nap.Stop()
	return w
}

// arm starts watching a call bounded by timeout and by ctx. It returns the
// function that stops watching ctx (nil when ctx cannot end). The caller
// must call disarm when the call returns.
func (w *watchdog) arm(ctx context.Context, timeout time.Duration) (stop func() bool) {
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	w.mu.Lock()
	w.armed = true
	w.mu.Unlock()
	w.timer.Reset(max(timeout, 0))
	w.slow.Reset(paceAfter)
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { w.fire(context.Cause(ctx)) })
	}
	return stop
}

// disarm stops watching. It reports whether the watchdog fired, and why;
// if it did, the call was stopped or is about to be, and the instance must
// be discarded.
func (w *watchdog) disarm(stop func() bool) (fired bool, cause error) {
	w.timer.Stop()
	w.slow.Stop()
	if stop != nil {
		stop()
	}
	w.ran = time.Time{}
	w.mu.Lock()
	w.armed = false
	w.due.Store(false)
	fired, cause = w.fired, w.cause
	w.mu.Unlock()
	return fired, cause
}

// restorePriority restores the priority of the call's thread if pace
// lowered it; the caller runs on that thread. It reports false only when
// the thread's priority stays lowered.
func (w *watchdog) restorePriority() bool {
	if w.tid == 0 {
		return true
	}
	err := restoreThread(w.tid, w.prev)
	w.tid = 0
	return err == nil
}

// setDue marks the call being watched as due for pacing.
func (w *watchdog) setDue() {
	w.mu.Lock()
	if w.armed {
		w.due.Store(true)
	}
	w.mu.Unlock()
}

// pace pauses the calling goroutine for pacePause if the call it runs is
// due for pacing and has run for paceRun since its last pause; a fired
// watchdog ends the pause at once. The guest's goroutine calls it whenever
// it runs the host's code; it costs an atomic load until the call is due.
// w may be nil.
func (w *watchdog) pace() {
	if w == nil || !w.due.Load() {
		return
	}
	now := time.Now()
	if w.ran.IsZero() {
		w.ran = now
		if w.locked && w.tid == 0 {
			if tid, prev, err := lowerThisThread(); err == nil {
				w.tid, w.prev = tid, prev
			}
		}
		return
	}
	if now.Sub(w.ran) < paceRun {
		return
	}
	w.nap.Reset(pacePause)
	select {
	case <-w.nap.C:
	case <-w.done:
		w.nap.Stop()
	}
	w.ran = time.Now()
	w.paused += w.ran.Sub(now)
}

// fire stops the call being watched, if any, by closing done.
func (w *watchdog) fire(cause error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.armed || w.fired {
		return
	}
	w.fired, w.cause = true, cause
	close(w.done)
}

// err is the error of a fired watchdog as wazero expects a context's:
// context.Canceled or context.DeadlineExceeded, which become the exit code
// ExitCodeContextCanceled or ExitCodeDeadlineExceeded; nil before it fired.
func (w *watchdog) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case !w.fired:
		return nil
	case errors.Is(w.cause, context.Canceled):
		return context.Canceled
	}
	return context.DeadlineExceeded
}

// close releases the timer; the instance is being discarded.
func (w *watchdog) close() {
	w.timer.Stop()
	w.slow.Stop()
	w.nap.Stop()
	w.mu.Lock()
	w.armed = false
	w.mu.Unlock()
}

// callContext is the context of every call into one instance with
// preemption: done is its watchdog's channel, Err its watchdog's verdict,
// and values come from the current call's caller, except the instance
// itself (instKey), which the host functions look up. One is made per
// instance and reused: parent is set by the goroutine making each call,
// the only one that reads values; wazero's goroutine reads only Done and Err.
type callContext struct {
	parent context.Context
	inst   *instance
	w      *watchdog
}

var _ context.Context = (*callContext)(nil)

func (c *callContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *callContext) Done() <-chan struct{}       { return c.w.done }
func (c *callContext) Err() error                  { return c.w.err() }

func (c *callContext) Value(key any) any {
	if key == (instKey{}) {
		return c.inst
	}
	return c.parent.Value(key)
}
