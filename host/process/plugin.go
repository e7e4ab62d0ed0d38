package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

// Plugin is a supervised plugin process. It implements [pluginapi.Plugin] and
// [pluginapi.Restarter]. Status, Manifest, Restart and Close may be called
// from any goroutine; Deliver must not be called
// concurrently with itself (the host delivers from one goroutine per
// plugin). A Plugin must not be copied.
type Plugin struct {
	cfg       Config
	settings  pluginapi.Settings
	log       *slog.Logger
	hclog     hclog.Logger
	out       *output // the output budget of every process of the plugin
	socketDir string
	starter   *starter

	calls, errs, timeouts, lookups atomic.Uint64

	// failures reports a broken instance to the supervisor (buffered 1; a
	// report about an instance already replaced is ignored).
	failures chan failure
	// restartReqs carries Restart's requests to the supervisor.
	restartReqs chan *restartRequest
	// calling is held (buffered 1) by a delivery's call into the process,
	// and by Restart, which waits for that call before it replaces the
	// process.
	calling chan struct{}
	closing chan struct{}
	done    chan struct{} // closed when the supervisor has stopped
	close   sync.Once

	mu          sync.Mutex
	state       pluginapi.State
	inst        *instance // the serving instance; nil unless running
	manifest    pluginapi.Manifest
	ready       chan struct{} // closed when state leaves starting/restarting
	lastErr     string
	lastErrAt   time.Time
	restarts    int
	inARow      int // restarts in a row (see Config.MaxRestarts)
	strikes     int // deliveries in a row that hit their deadline
	lastStarted time.Time
}

var _ pluginapi.Plugin = (*Plugin)(nil)

// maxSocketPath is the longest unix socket path Linux and the BSDs accept
// (sun_path, less its terminating NUL, on the strictest of them).
const maxSocketPath = 103

type failure struct {
	inst *instance
	err  error
}

// Start starts the plugin process described by cfg, initialises it (Init
// with cfg.Config and a fresh connection for lookups served from settings),
// and supervises it until Close. It returns once the plugin is ready for
// events, or with the reason it could not start; nothing is left running
// then. When ctx ends during the start (the handshake or Init), Start kills
// the process and returns at once.
//
// # Errors
//
// [ErrConfig] for an invalid cfg; otherwise a [*StartError] wrapping
// fs.ErrNotExist, [ErrNotExecutable], [ErrChecksumMismatch] (a
// [*ChecksumError]), [ErrNotPlugin], [ErrIncompatibleVersion],
// [ErrStartTimeout], [ErrInit], or ctx's error.
func Start(ctx context.Context, cfg Config, settings pluginapi.Settings) (*Plugin, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if settings == nil {
		return nil, fmt.Errorf("%w: plugin %q: nil Settings", ErrConfig, cfg.Name)
	}
	dir, err := os.MkdirTemp(cfg.SocketDir, "heksher-plugin-")
	if err != nil {
		return nil, fmt.Errorf("process: plugin %q: socket directory: %w", cfg.Name, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("process: plugin %q: socket directory: %w", cfg.Name, err)
	}
	// go-plugin names sockets dir/plugin-dirNNNNNNNNNN/pluginNNNNNNNNNN; past
	// the kernel's limit on a socket path the plugin fails to listen and
	// the host would only see it as "not a plugin".
	if n := len(dir) + len("/plugin-dir0123456789/plugin0123456789"); n > maxSocketPath {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("%w: plugin %q: socket directory %q is too long: its sockets' paths would exceed %d bytes",
			ErrConfig, cfg.Name, cfg.SocketDir, maxSocketPath)
	}
	p := &Plugin{
		cfg: cfg, settings: settings, log: cfg.Logger, hclog: newHCLogAdapter(cfg.Logger), out: newOutput(&cfg),
		socketDir: dir, starter: newStarter(),
		failures: make(chan failure, 1), closing: make(chan struct{}), done: make(chan struct{}),
		restartReqs: make(chan *restartRequest), calling: make(chan struct{}, 1),
		state: pluginapi.StateStarting, ready: make(chan struct{}),
	}
	inst, err := p.spawn(ctx)
	if err != nil {
		p.out.close()
		p.starter.stop()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	p.setRunning(inst)
	p.log.Info("plugin started", "pid", inst.pid(), "subscriptions", kindNames(inst.manifest.Subscriptions),
		"declarations", len(inst.manifest.Declarations), "took", time.Since(inst.started))
	go p.supervise(inst)
	return p, nil
}

// Name returns the configured name.
func (p *Plugin) Name() string { return p.cfg.Name }

// Manifest returns what the plugin declared at its latest Init. The
// declarations are a copy the caller may keep.
func (p *Plugin) Manifest() pluginapi.Manifest {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.manifest
	m.Declarations = append([]pluginapi.Declaration(nil), m.Declarations...)
	return m
}

// Deliver sends d to the plugin and waits for its handler, at most until ctx
// ends or Config.Deadline passes.
//
// While the plugin is being restarted (after a failure or by
// [Plugin.Restart]), Deliver waits for it to be serving again (initialised
// anew) as long as ctx allows, so that the event after a crash is delivered
// to the fresh process; if ctx ends first it returns [ErrRestarting]. A
// crash during the call returns [ErrCrashed] at once and starts a restart;
// a call that hits its deadline counts a strike, and Config.TimeoutStrikes
// strikes in a row kill and restart the process.
//
// # Errors
//
// [ErrClosed], [ErrFailed], [ErrRestarting], [ErrCrashed],
// context.DeadlineExceeded (the plugin overran its deadline),
// context.Canceled, and a [*HandlerError] when the plugin's handler returned
// an error.
func (p *Plugin) Deliver(ctx context.Context, d event.Delivery) error {
	p.calls.Add(1)
	msg, err := pluginv1.FromDelivery(d)
	if err != nil {
		return p.countErr(fmt.Errorf("process: plugin %q: %w", p.cfg.Name, err))
	}
	inst, err := p.acquire(ctx)
	if err != nil {
		return p.countErr(err)
	}
	defer func() { <-p.calling }()
	cctx, cancel := context.WithTimeout(ctx, p.cfg.Deadline)
	defer cancel()
	_, err = inst.rpc.Deliver(cctx, msg)
	if err == nil {
		// A success does not reset the restarts in a row: a plugin that
		// handles an event or two after each start and then crashes must
		// still be given up (see StableRun).
		p.mu.Lock()
		p.strikes = 0
		p.mu.Unlock()
		return nil
	}
	return p.countErr(p.callFailed(ctx, cctx, inst, d.Seq, err))
}

// countErr counts a failed delivery and keeps err's text as the last error,
// so that the status never shows errors without the latest reason; it
// returns err.
func (p *Plugin) countErr(err error) error {
	p.errs.Add(1)
	p.mu.Lock()
	p.setErrLocked(err)
	p.mu.Unlock()
	return err
}

// acquire returns the instance to call, holding p.calling: it waits out a
// restart, and for a Restart in progress.
func (p *Plugin) acquire(ctx context.Context) (*instance, error) {
	for {
		inst, err := p.serving(ctx)
		if err != nil {
			return nil, err
		}
		select {
		case p.calling <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: plugin %q: %w", ErrRestarting, p.cfg.Name, ctx.Err())
		}
		p.mu.Lock()
		current := p.inst == inst && p.state == pluginapi.StateRunning
		p.mu.Unlock()
		if current {
			return inst, nil
		}
		<-p.calling // replaced meanwhile (by Restart): wait for the new one
	}
}

// serving returns the instance to call, waiting out a restart.
func (p *Plugin) serving(ctx context.Context) (*instance, error) {
	for {
		p.mu.Lock()
		state, inst, ready, last := p.state, p.inst, p.ready, p.lastErr
		p.mu.Unlock()
		switch state {
		case pluginapi.StateRunning:
			return inst, nil
		case pluginapi.StateFailed:
			return nil, fmt.Errorf("%w: plugin %q: last error: %s", ErrFailed, p.cfg.Name, last)
		case pluginapi.StateStopped:
			return nil, fmt.Errorf("%w: plugin %q", ErrClosed, p.cfg.Name)
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: plugin %q (last error: %s): %w", ErrRestarting, p.cfg.Name, last, ctx.Err())
		}
	}
}

// callFailed classifies a failed call, reports broken instances to the
// supervisor and returns the caller's error.
func (p *Plugin) callFailed(ctx, cctx context.Context, inst *instance, seq uint64, err error) error {
	st, _ := status.FromError(err)
	switch {
	case st.Code() == codes.Unknown:
		return &HandlerError{Plugin: p.cfg.Name, Seq: seq, Message: st.Message()}
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("process: plugin %q delivery %d: %w", p.cfg.Name, seq, ctx.Err())
	case st.Code() == codes.DeadlineExceeded || cctx.Err() != nil:
		p.timeouts.Add(1)
		p.mu.Lock()
		p.strikes++
		strikes := p.strikes
		p.mu.Unlock()
		werr := fmt.Errorf("process: plugin %q delivery %d overran its deadline (%d in a row): %w",
			p.cfg.Name, seq, strikes, context.DeadlineExceeded)
		if strikes >= p.cfg.TimeoutStrikes {
			p.report(inst, werr)
		}
		return werr
	case st.Code() == codes.Unavailable || isClosed(inst.exited):
		werr := fmt.Errorf("%w: plugin %q delivery %d: %v", ErrCrashed, p.cfg.Name, seq, err)
		p.report(inst, werr)
		return werr
	}
	return fmt.Errorf("process: plugin %q delivery %d: %w", p.cfg.Name, seq, err)
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// report marks inst broken: deliveries wait from now on, and the supervisor
// kills and restarts it. Reports about an instance no longer serving are
// ignored.
func (p *Plugin) report(inst *instance, err error) {
	p.mu.Lock()
	if p.inst != inst || p.state != pluginapi.StateRunning {
		p.mu.Unlock()
		return
	}
	if isClosed(p.closing) {
		// No restart once Close has begun: the supervisor stops inst.
		p.setErrLocked(err)
		p.mu.Unlock()
		return
	}
	p.state = pluginapi.StateRestarting
	p.inst = nil
	p.ready = make(chan struct{})
	p.setErrLocked(err)
	p.mu.Unlock()
	select {
	case p.failures <- failure{inst: inst, err: err}:
	default: // a report is already pending; the supervisor checks inst
	}
}

func (p *Plugin) setErrLocked(err error) {
	p.lastErr = err.Error()
	p.lastErrAt = time.Now()
}

func (p *Plugin) setRunning(inst *instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inst = inst
	p.manifest = inst.manifest
	p.state = pluginapi.StateRunning
	p.strikes = 0
	p.lastStarted = inst.started
	close(p.ready)
}

// Status returns a snapshot of the plugin's state and counters. Detail has
// "pid" (0 while restarting), "path", "consecutive_failures" (restarts in
// a row, see Config.MaxRestarts), and for the serving process "isolation"
// (how its process tree is tied to the plugin: pid-namespace,
// user-and-pid-namespace or process-group), "broker_id" and
// "settings_connections" (connections it opened to the host's Settings
// service: 1 for a plugin on the SDK, which opens it once in Init).
func (p *Plugin) Status() pluginapi.Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := pluginapi.Status{
		Name: p.cfg.Name, Kind: "process", State: p.state,
		LastError: p.lastErr, LastErrorAt: p.lastErrAt, Restarts: p.restarts,
		Calls: p.calls.Load(), Errors: p.errs.Load(), Timeouts: p.timeouts.Load(), Lookups: p.lookups.Load(),
		Detail: map[string]string{"path": p.cfg.Path, "pid": "0", "consecutive_failures": strconv.Itoa(p.inARow)},
	}
	out := p.out.b.Stats()
	s.OutputDroppedLines, s.OutputDroppedBytes = out.DroppedLines, out.DroppedBytes
	if p.inst != nil {
		if mode := p.inst.runner.isolation(); mode != isolateAuto {
			s.Detail["isolation"] = mode.String()
		}
		s.Detail["pid"] = strconv.Itoa(p.inst.pid())
		s.Detail["broker_id"] = strconv.FormatUint(uint64(p.inst.brokerID), 10)
		s.Detail["settings_connections"] = strconv.FormatInt(p.inst.settingsConns.Load(), 10)
	}
	return s
}

// Close stops the plugin: it asks the process to exit and kills it if it
// has not by the time ctx ends. Close waits for every goroutine it started
// and is idempotent.
func (p *Plugin) Close(ctx context.Context) error {
	p.close.Do(func() { close(p.closing) })
	defer p.out.close()
	p.mu.Lock()
	inst := p.inst
	p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		// The supervisor is stopping a process that will not exit; kill it.
		if inst != nil {
			inst.runner.kill()
		}
		<-p.done
		return fmt.Errorf("process: close plugin %q: %w", p.cfg.Name, ctx.Err())
	}
}

func kindNames(s event.Set) []string {
	var out []string
	for _, k := range s.Kinds() {
		out = append(out, k.String())
	}
	return out
}
