package wasm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental/sysfs"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/abi"
	"github.com/heksher-go/heksher/internal/outbudget"
	"github.com/heksher-go/heksher/pluginapi"
)

// Plugin is a loaded wasm plugin; it implements [pluginapi.Plugin].
//
// It owns one instance of its module, made and initialised at load. Deliver
// calls into it; a trap, panic, timeout or out-of-memory discards the
// instance, and the next delivery makes a fresh one, initialised again with
// the plugin's config (after a backoff from the second failure in a row on).
// After MaxConsecutiveFailures failures in a row the plugin is marked failed
// and refuses deliveries until it is restarted ([Plugin.Restart], which a
// reload or the host's admin API calls) or reloaded. An instance whose memory
// grew past RecycleAbovePages is replaced the same way, without counting a
// failure.
//
// Deliver is meant to be called from one goroutine (the host's worker for the
// plugin); concurrent calls are serialised. Status and Close are safe from
// any goroutine.
type Plugin struct {
	rt       *Runtime
	g        *group
	c        *compiled
	cfg      PluginConfig
	settings pluginapi.Settings
	log      *slog.Logger
	out      *outbudget.Budget // shared by the log host function, stdout and stderr
	modCfg   wazero.ModuleConfig
	manifest pluginapi.Manifest
	exported event.Set
	fsys     *rootFS // the granted directory; nil without one

	// slot is held by the goroutine calling into the guest (Deliver or
	// Close); the fields below it belong to the holder.
	slot        chan struct{}
	inst        *instance
	consecutive int
	nextAttempt time.Time
	restartDue  bool
	unsupported event.Set
	released    bool

	closed   atomic.Bool
	failures atomic.Int64 // mirrors consecutive, for Status
	lookups  atomic.Uint64
	memPages atomic.Uint32 // of the last instance that ran a call
	// restartAt is when a fresh instance may be made after a failure, in
	// Unix nanoseconds; 0 when no restart is pending. Mirrors nextAttempt
	// and restartDue, for Status.
	restartAt atomic.Int64

	// interrupt, while a call into the guest can be stopped, is what stops
	// it: Close runs it so that it never waits for a call's own deadline.
	interrupt atomic.Pointer[func()]

	mu       sync.Mutex // guards st and recycles
	st       pluginapi.Status
	recycles int
}

var (
	_ pluginapi.Plugin    = (*Plugin)(nil)
	_ pluginapi.Restarter = (*Plugin)(nil)
)

// newPlugin makes the plugin of c and cfg, opening its granted directory.
func newPlugin(r *Runtime, g *group, c *compiled, cfg PluginConfig, settings pluginapi.Settings) (*Plugin, error) {
	var fsys *rootFS
	if cfg.Grants.Dir != "" {
		var err error
		if fsys, err = openRootFS(cfg.Grants.Dir, cfg.Grants.DirReadOnly); err != nil {
			return nil, fmt.Errorf("wasm: plugin %q: granted directory: %w", cfg.Name, err)
		}
	}
	p := &Plugin{
		rt: r, g: g, c: c, cfg: cfg, settings: settings, fsys: fsys,
		log:  r.log.With(slog.String("plugin", cfg.Name)),
		slot: make(chan struct{}, 1),
		st:   pluginapi.Status{Name: cfg.Name, Kind: "wasm", State: pluginapi.StateStarting},
	}
	p.out = outbudget.New(p.log, outbudget.Config(cfg.Output))
	exports := c.mod.ExportedFunctions()
	for k, name := range hookExports {
		if _, ok := exports[name]; ok && name != "" {
			p.exported |= event.SetOf(event.Kind(k))
		}
	}
	mc := wazero.NewModuleConfig().WithName("").WithStartFunctions()
	if _, ok := exports[abi.ExportInitialize]; ok {
		mc = mc.WithStartFunctions(abi.ExportInitialize)
	}
	gr := cfg.Grants
	if fsys != nil {
		mc = mc.WithFSConfig(wazero.NewFSConfig().(sysfs.FSConfig).WithSysFSMount(fsys, gr.GuestDir))
	}
	for _, k := range slices.Sorted(maps.Keys(gr.Env)) {
		mc = mc.WithEnv(k, gr.Env[k])
	}
	if gr.Clock {
		mc = mc.WithSysWalltime().WithSysNanotime().WithSysNanosleep()
	}
	if gr.Random {
		mc = mc.WithRandSource(rand.Reader)
	}
	p.modCfg = mc
	return p, nil
}

// start makes the first instance and records the manifest it declared.
func (p *Plugin) start(ctx context.Context) error {
	inst, err := p.newInstance(ctx)
	if err != nil {
		p.out.Close()
		p.setState(pluginapi.StateFailed, err)
		return fmt.Errorf("%w: %w", ErrInit, err)
	}
	subs := p.exported
	if inst.subscribed {
		if extra := inst.subs &^ p.exported; extra != 0 {
			p.log.Warn("wasm: plugin subscribed to events it exports no handler for; ignored", slog.Any("kinds", extra.Kinds()))
		}
		subs &= inst.subs
	}
	p.manifest = pluginapi.Manifest{Subscriptions: subs, Declarations: inst.decls, Settings: inst.selection}
	if !inst.selected {
		// A guest that never selected settings gets every setting's
		// changes, as ABI v1 first defined.
		p.manifest.Settings = []string{pluginapi.AllSettings}
	}
	inst.decls, inst.selection = nil, nil
	p.inst = inst
	p.memPages.Store(inst.memoryPages())
	p.setState(pluginapi.StateRunning, nil)
	return nil
}

// Name returns the plugin's configured name.
func (p *Plugin) Name() string { return p.cfg.Name }

// Manifest returns what the plugin declared when it was loaded: its
// subscriptions (the hooks it exports, narrowed by subscribe) and its
// setting declarations. Later instances' declarations are not consulted.
func (p *Plugin) Manifest() pluginapi.Manifest {
	m := p.manifest
	m.Declarations = slices.Clone(m.Declarations)
	m.Settings = slices.Clone(m.Settings)
	return m
}

// Deliver hands d to the plugin's guest and waits for it, at most until ctx
// ends or the plugin's Deadline passes, whichever is first. An event kind the
// plugin did not subscribe to (or answered UNSUPPORTED) is skipped with a
// nil error.
//
// # Errors
//
//   - a [*CallError] matching [ErrGuestStatus]: the guest reported an error;
//     its instance stays in service;
//   - a [*CallError] matching [ErrTrap] or [ErrTimeout] (and
//     context.DeadlineExceeded): the instance was discarded and the next
//     delivery gets a fresh one;
//   - [ErrBackoff]: a fresh instance is not due yet; the event was dropped;
//   - [ErrFailed]: the plugin gave up after too many failures;
//   - [ErrClosed]; ctx's error if it ended while waiting for another call.
func (p *Plugin) Deliver(ctx context.Context, d event.Delivery) error {
	if d.Event == nil {
		return fmt.Errorf("wasm: plugin %q: delivery %d has no event", p.cfg.Name, d.Seq)
	}
	select {
	case p.slot <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("wasm: plugin %q: waiting for the previous call: %w", p.cfg.Name, ctx.Err())
	}
	defer p.leave()
	if p.closed.Load() {
		return ErrClosed
	}
	kind := d.Event.Kind()
	if !p.manifest.Subscriptions.Has(kind) || p.unsupported.Has(kind) {
		return nil
	}
	if p.consecutive >= p.cfg.MaxConsecutiveFailures {
		return fmt.Errorf("wasm: plugin %q: %d consecutive failures: %w", p.cfg.Name, p.consecutive, ErrFailed)
	}
	if err := ctx.Err(); err != nil {
		// Calling in would only have wazero close the healthy instance.
		return fmt.Errorf("wasm: plugin %q: not delivered: %w", p.cfg.Name, err)
	}
	p.mu.Lock()
	p.st.Calls++
	p.mu.Unlock()
	if p.inst == nil {
		if err := p.replace(ctx); err != nil {
			return err
		}
	}
	inst := p.inst
	payload, err := abi.AppendDelivery(inst.enc[:0], d)
	if err != nil {
		p.countError(err, false)
		return fmt.Errorf("wasm: plugin %q: %w", p.cfg.Name, err)
	}
	inst.enc = payload
	export := hookExports[kind]
	inst.info = infoOf(d)
	status, err := p.call(ctx, inst, inst.hooks[kind], payload)
	inst.info = eventInfo{}
	if err != nil && p.closed.Load() {
		// Close stopped the call; leave discards the instance.
		return fmt.Errorf("wasm: plugin %q: %s stopped: %w", p.cfg.Name, export, ErrClosed)
	}
	if err != nil {
		// The memory the faulty instance reached, e.g. its limit after a
		// runaway growth; readable though the module may be closed.
		p.memPages.Store(inst.memoryPages())
		ce := p.callError(export, kind, err)
		p.fail(ce)
		return ce
	}
	switch status {
	case abi.StatusOK:
		p.consecutive = 0
		p.failures.Store(0)
	case abi.StatusUnsupported:
		p.unsupported |= event.SetOf(kind)
		p.log.Info("wasm: plugin does not handle this event kind; no longer sending it", slog.String("kind", kind.String()))
		p.consecutive = 0
		p.failures.Store(0)
	default:
		ce := p.statusError(inst, export, kind, status)
		p.countError(ce, false)
		p.consecutive = 0
		p.failures.Store(0)
		p.afterCall(inst)
		return ce
	}
	p.afterCall(inst)
	return nil
}

// afterCall records the instance's memory and recycles it when it has grown
// past the threshold.
func (p *Plugin) afterCall(inst *instance) {
	pages := inst.memoryPages()
	p.memPages.Store(pages)
	if pages > p.cfg.RecycleAbovePages {
		p.log.Info("wasm: recycling instance whose memory grew past the threshold",
			slog.Uint64("pages", uint64(pages)), slog.Uint64("threshold", uint64(p.cfg.RecycleAbovePages)))
		inst.close()
		p.inst = nil
		p.mu.Lock()
		p.recycles++
		p.mu.Unlock()
	}
}

// replace makes a fresh instance for the next call, unless the backoff
// after a failure has not passed.
func (p *Plugin) replace(ctx context.Context) error {
	if wait := time.Until(p.nextAttempt); p.restartDue && wait > 0 {
		return fmt.Errorf("wasm: plugin %q: restart due in %v: %w", p.cfg.Name, wait.Round(time.Millisecond), ErrBackoff)
	}
	inst, err := p.newInstance(ctx)
	if err != nil {
		p.fail(err)
		return err
	}
	p.inst = inst
	p.memPages.Store(inst.memoryPages())
	if p.restartDue {
		p.restartDue = false
		p.restartAt.Store(0)
		p.mu.Lock()
		p.st.Restarts++
		p.st.State = pluginapi.StateRunning
		p.mu.Unlock()
	}
	return nil
}

// fail discards the instance after a trap or timeout and schedules the
// restart, or marks the plugin failed.
func (p *Plugin) fail(err error) {
	if p.inst != nil {
		p.inst.close()
		p.inst = nil
	}
	p.consecutive++
	p.failures.Store(int64(p.consecutive))
	p.restartDue = true
	p.nextAttempt = time.Now().Add(p.cfg.backoff(p.consecutive))
	p.restartAt.Store(p.nextAttempt.UnixNano())
	p.countError(err, errors.Is(err, ErrTimeout))
	state := pluginapi.StateRestarting
	if p.consecutive >= p.cfg.MaxConsecutiveFailures {
		state = pluginapi.StateFailed
	}
	p.mu.Lock()
	p.st.State = state
	p.mu.Unlock()
	p.log.Warn("wasm: plugin call failed; instance discarded", slog.Any("error", err),
		slog.Int("consecutive_failures", p.consecutive), slog.String("state", state.String()))
}

// Restart implements [pluginapi.Restarter]: it forgets the plugin's failures
// and pending backoff, discards its instance and makes a fresh one,
// initialised again with the plugin's config within InitTimeout; the plugin
// is then running, also when it was failed. A fresh instance that cannot
// start counts as one failure (the plugin is then restarting, and the next
// delivery tries again) and its error is returned. A call in flight is
// waited for, at most until ctx ends.
//
// # Errors
//
// [ErrClosed]; the fresh instance's error (a [*CallError], e.g. an init
// that refused or overran InitTimeout); ctx's error while waiting.
func (p *Plugin) Restart(ctx context.Context) error {
	select {
	case p.slot <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("wasm: plugin %q: restart: waiting for the call in flight: %w", p.cfg.Name, ctx.Err())
	}
	defer p.leave()
	if p.closed.Load() {
		return ErrClosed
	}
	if p.inst != nil {
		p.inst.close()
		p.inst = nil
	}
	p.consecutive = 0
	p.failures.Store(0)
	p.restartDue = false
	p.nextAttempt = time.Time{}
	p.restartAt.Store(0)
	p.unsupported = 0
	p.setState(pluginapi.StateStarting, nil)
	inst, err := p.newInstance(ctx)
	if err != nil {
		p.fail(err)
		return fmt.Errorf("wasm: plugin %q: restart: %w", p.cfg.Name, err)
	}
	p.inst = inst
	p.memPages.Store(inst.memoryPages())
	p.mu.Lock()
	p.st.Restarts++
	p.st.State = pluginapi.StateRunning
	p.mu.Unlock()
	p.log.Info("wasm: plugin restarted on request")
	return nil
}

func (p *Plugin) countError(err error, timeout bool) {
	p.mu.Lock()
	p.st.Errors++
	if timeout {
		p.st.Timeouts++
	}
	p.st.LastError = err.Error()
	p.st.LastErrorAt = time.Now()
	p.mu.Unlock()
}

func (p *Plugin) setState(s pluginapi.State, err error) {
	p.mu.Lock()
	p.st.State = s
	if err != nil {
		p.st.LastError = err.Error()
		p.st.LastErrorAt = time.Now()
	}
	p.mu.Unlock()
}

// call calls fn(payload) in inst within the plugin's Deadline and ctx, and
// lets Close stop it. With preemption, the call's context is inst's
// callContext, whose Done channel is closed by inst's watchdog when either
// bound passes or Close interrupts (see watchdog for why); without it, no
// deadline could stop the guest, so none is armed.
func (p *Plugin) call(ctx context.Context, inst *instance, fn api.Function, payload []byte) (int32, error) {
	if inst.wd == nil {
		return inst.callWithPayload(context.WithValue(ctx, instKey{}, inst), fn, payload)
	}
	inst.ctx.parent = ctx
	inst.wd.locked = lockCallThread() // its priority is lowered if the call runs long
	stop := inst.wd.arm(ctx, p.cfg.Deadline)
	p.setInterrupt(&inst.stop)
	status, err := inst.callWithPayload(inst.ctx, fn, payload)
	p.interrupt.Store(nil)
	fired, cause := inst.wd.disarm(stop)
	restored := inst.wd.restorePriority()
	unlockCallThread(inst.wd.locked, restored)
	if !restored {
		p.log.Warn("wasm: could not restore the priority of a thread that ran a long call; it stays with this goroutine")
	}
	if fired && err == nil {
		// The deadline passed as the call returned: the instance cannot
		// be trusted to stop at the next one.
		err = fmt.Errorf("deadline passed as the call returned: %w", cause)
	}
	inst.ctx.parent = context.Background() // keep nothing of the caller's
	return status, err
}

// callContext returns the context of one call into inst: ctx, bounded by
// timeout when preemption is on (without it no deadline can stop the guest,
// so none is armed), carrying inst for the host functions.
func (p *Plugin) callContext(ctx context.Context, inst *instance, timeout time.Duration) (context.Context, context.CancelFunc) {
	cancel := context.CancelFunc(func() {})
	if !p.cfg.DisablePreemption {
		ctx, cancel = context.WithDeadline(ctx, time.Now().Add(timeout))
	}
	return context.WithValue(ctx, instKey{}, inst), cancel
}

// setInterrupt publishes f as the way to stop the call about to start, and
// runs it at once if Close came first (Close sets closed before it reads
// interrupt, and the caller stores interrupt before it reads closed, so one
// of them always sees the other).
func (p *Plugin) setInterrupt(f *func()) {
	p.interrupt.Store(f)
	if p.closed.Load() {
		(*f)()
	}
}

// callError classifies an error from wazero.
func (p *Plugin) callError(export string, kind event.Kind, err error) *CallError {
	var ce *CallError
	if errors.As(err, &ce) {
		return ce
	}
	reason := ErrTrap
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		reason = ErrTimeout
	}
	return &CallError{Plugin: p.cfg.Name, Export: export, Kind: kind, Reason: reason, Err: err}
}

func (p *Plugin) statusError(inst *instance, export string, kind event.Kind, status int32) *CallError {
	msg := string(inst.errMsg)
	if !inst.errSet {
		msg = "(no message set)"
	}
	if status != abi.StatusError {
		msg = "unknown status " + strconv.Itoa(int(status)) + ": " + msg
	}
	return &CallError{Plugin: p.cfg.Name, Export: export, Kind: kind, Reason: ErrGuestStatus, Status: status, Message: msg}
}

// leave releases the call slot, finishing a Close that gave up waiting.
func (p *Plugin) leave() {
	if p.closed.Load() {
		p.shutdown()
	}
	<-p.slot
}

// Status returns a snapshot of the plugin's state and counters. Detail holds
// "memory_pages" (the linear memory of the plugin's instance after its
// initialisation or last call, or of the instance a fault discarded), "memory_limit_pages",
// "recycle_above_pages", "preemption", "consecutive_failures", "recycles",
// and, while a restart after a failure is pending, "restart_at": the time
// (RFC 3339) from which the next delivery makes a fresh instance; deliveries
// before it fail with [ErrBackoff].
func (p *Plugin) Status() pluginapi.Status {
	p.mu.Lock()
	s := p.st
	recycles := p.recycles
	p.mu.Unlock()
	s.Lookups = p.lookups.Load()
	out := p.out.Stats()
	s.OutputDroppedLines, s.OutputDroppedBytes = out.DroppedLines, out.DroppedBytes
	preempt := "on"
	if p.cfg.DisablePreemption {
		preempt = "off"
	}
	s.Detail = map[string]string{
		"memory_pages":         strconv.FormatUint(uint64(p.memPages.Load()), 10),
		"memory_limit_pages":   strconv.FormatUint(uint64(p.cfg.MemoryLimitPages), 10),
		"recycle_above_pages":  strconv.FormatUint(uint64(p.cfg.RecycleAbovePages), 10),
		"preemption":           preempt,
		"recycles":             strconv.Itoa(recycles),
		"consecutive_failures": strconv.FormatInt(p.failures.Load(), 10),
	}
	if at := p.restartAt.Load(); at != 0 && s.State == pluginapi.StateRestarting {
		s.Detail["restart_at"] = time.Unix(0, at).UTC().Format(time.RFC3339Nano)
	}
	return s
}

// Close discards the plugin's instance and releases its compiled module. A
// call in flight is stopped, unless preemption is disabled (it then ends at
// its next loop back-edge or function entry, returning an error matching
// [ErrClosed]), and waited for until ctx ends; a call that outlives ctx
// cleans up when it returns. Idempotent.
func (p *Plugin) Close(ctx context.Context) error {
	if p.closed.Swap(true) {
		return nil
	}
	p.setState(pluginapi.StateStopped, nil)
	if stop := p.interrupt.Load(); stop != nil {
		(*stop)() // a guest call in flight ends at its next loop or call
	}
	select {
	case p.slot <- struct{}{}:
		p.shutdown()
		<-p.slot
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wasm: plugin %q: close: a call is still running: %w", p.cfg.Name, ctx.Err())
	}
}

// shutdown releases everything; the caller holds the slot.
func (p *Plugin) shutdown() {
	if p.released {
		return
	}
	p.released = true
	if p.inst != nil {
		p.inst.close()
		p.inst = nil
	}
	p.out.Close()
	if p.fsys != nil {
		_ = p.fsys.close()
	}
	p.rt.release(p.g, p.c)
	p.rt.forget(p)
}
