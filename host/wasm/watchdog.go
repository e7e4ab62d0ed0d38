package wasm

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// watchdog enforces the deadline of a call into one instance by closing its
// module from another goroutine when the deadline passes or the caller's
// context ends.
//
// Why not a context deadline: wazero's close-on-context-done starts a
// goroutine per call that watches the call's context. Given a context with
// a Done channel, that goroutine parks on it and must be woken when the call
// ends, and context.WithDeadline adds a timer context per call; together
// they cost several microseconds per call on a loaded two-core machine.
// Given a context without a Done channel (context.WithoutCancel), the
// goroutine exits as soon as it runs. The guest is stopped the same way in
// both cases: closing the module sets its exit code, which the code wazero
// compiles with close-on-context-done checks on every loop back-edge (an exit
// to Go that panics with the exit code once the module is closed), so a
// pure-wasm `loop br 0` and a Go `for {}` both stop, and the call returns
// the exit code when it ends (wazero v1.12.0: frontend/lower.go emits the
// check; call_engine.go handles ExitCodeCheckModuleExitCode and calls
// FailIfClosed after the call).
//
// One timer serves every call of the instance: armed before the call and
// stopped after it, with no allocation. The caller's context is watched
// only when it can end (Done is not nil), through context.AfterFunc, which
// registers a callback with the context rather than starting a goroutine.
//
// A watchdog belongs to the goroutine calling into its instance; fire runs
// on the timer's or the context's goroutine, hence the mutex.
type watchdog struct {
	mod   api.Module
	timer *time.Timer

	mu    sync.Mutex
	armed bool
	fired bool
	cause error // why fire closed the module
}

func newWatchdog(mod api.Module) *watchdog {
	w := &watchdog{mod: mod}
	w.timer = time.AfterFunc(time.Hour, func() { w.fire(context.DeadlineExceeded) })
	w.timer.Stop()
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
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { w.fire(context.Cause(ctx)) })
	}
	return stop
}

// disarm stops watching. After it returns the module is closed only if the
// watchdog fired, which it reports with the cause.
func (w *watchdog) disarm(stop func() bool) (fired bool, cause error) {
	w.timer.Stop()
	if stop != nil {
		stop()
	}
	w.mu.Lock()
	w.armed = false
	fired, cause = w.fired, w.cause
	w.mu.Unlock()
	return fired, cause
}

// fire closes the module if a call is being watched. The exit code makes
// the call's error match context.DeadlineExceeded or context.Canceled, as a
// context-driven close would.
func (w *watchdog) fire(cause error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.armed || w.fired {
		return
	}
	w.fired, w.cause = true, cause
	code := uint32(sys.ExitCodeDeadlineExceeded)
	if errors.Is(cause, context.Canceled) {
		code = sys.ExitCodeContextCanceled
	}
	_ = w.mod.CloseWithExitCode(context.Background(), code)
}

// close releases the timer; the instance is being discarded.
func (w *watchdog) close() {
	w.timer.Stop()
	w.mu.Lock()
	w.armed = false
	w.mu.Unlock()
}
