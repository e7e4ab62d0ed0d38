package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/dispatch"
	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/admin"
	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/pluginapi"
)

// Host runs the client core, the plugins and the admin server. Create it
// with [New], start it with [Host.Start], stop it with [Host.Close]. Safe
// for concurrent use.
type Host struct {
	cfg  config.Config // defaults applied
	opts options
	log  *slog.Logger

	metrics  *admin.Metrics
	disp     *dispatch.Dispatcher
	rec      *recorder
	reg      *registry
	mgr      *manager
	admin    *admin.Server
	embedded *embedded
	relay    *relayRunner // relay mode; nil when off
	client   *heksher.Client
	url      atomic.Pointer[string] // the service in use; read by the admin server during Start

	settingsMu sync.RWMutex
	settings   map[string]*heksher.Setting[json.RawMessage]

	failedMu sync.Mutex
	failed   []admin.PluginStatus // plugins that failed to load at start-up

	// bg runs the fetches of late-declared settings' values; bgCtx ends at
	// Close.
	bgMu     sync.Mutex // orders bg.Add against the Wait at Close
	bg       sync.WaitGroup
	bgCtx    context.Context
	bgCancel context.CancelFunc

	started atomic.Bool
	ready   atomic.Bool
	// fromService is set once the client serves the service's answers
	// (see originOf).
	fromService atomic.Bool
	closeOnce   sync.Once
	closeErr    error
}

// recorderName is the dispatcher name of the host's own event recorder.
const recorderName = "heksher-host"

// New checks cfg (whose defaults should already be applied with
// config.Config.WithDefaults; New applies them again, harmlessly) and
// returns a host that has started nothing yet.
//
// # Errors
//
// A configuration that fails [config.Config.Validate] ([config.ErrInvalid]).
func New(cfg config.Config, opts ...Option) (*Host, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	h := &Host{cfg: cfg, opts: o, log: o.logger, reg: newRegistry(),
		settings: map[string]*heksher.Setting[json.RawMessage]{}}
	h.bgCtx, h.bgCancel = context.WithCancel(context.Background())
	h.metrics = admin.NewMetrics(h.pluginStatuses, h.settingCount)
	h.disp = dispatch.New(dispatch.WithLogger(o.logger),
		dispatch.WithDefaults(config.DefaultPluginQueueSize, config.DefaultPluginDeadline))
	h.rec = newRecorder(h.metrics, cfg.Admin.EventsShown)
	h.mgr = &manager{
		log: o.logger, loaders: o.loaders, disp: h.disp, reg: h.reg, metrics: h.metrics,
		settings: h.pluginSettings, declare: h.declare, running: map[string]*loadedPlugin{},
		reserved: map[string]bool{recorderName: true, conflictsName: true}, onFail: h.recordFailed,
		conflictOf: h.conflictOf, later: h.runLater, onUnload: h.recordUnloaded,
		declCachePath: filepath.Join(cfg.StateDir, declCacheFile),
	}
	for _, hk := range o.hooks {
		h.mgr.reserved[hk.Name] = true
	}
	return h, nil
}

// Start brings the host up: the admin server, the embedded server (when no
// service URL is configured), the client core with the configuration's
// settings and its first update (falling back to the saved snapshot or the
// defaults when the service cannot be reached within the start-up timeout;
// retries then continue in the background), and then the plugins.
//
// The host is ready ([Host.Ready], /readyz) as soon as the first update has
// ended: no plugin holds up the values. The plugins then load all at once,
// each bounded by its start timeout (plugins[].start_timeout), and each
// joins as soon as it is loaded; the events published since the host
// started (the first update's among them) wait for it and are handed to it
// in order. A plugin that fails to load, or is not ready within its start
// timeout, is logged and shown as failed on the status page; the host runs
// without it (a reload or the admin API's restart tries it again). Start
// returns once every load has ended: with N plugins that never become
// ready, after one start timeout, not N. ctx bounds the plugin loads too: a
// load still running when ctx ends is abandoned as failed.
//
// # Errors
//
// The state directory cannot be created, the embedded server or the admin
// server cannot listen, a header variable is unset, or a setting in the
// configuration is invalid. Start cleans up what it started before returning
// an error.
func (h *Host) Start(ctx context.Context) (err error) {
	if h.started.Swap(true) {
		return errors.New("host: already started")
	}
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = h.Close(cctx)
		}
	}()
	if err := os.MkdirAll(h.cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("host: state directory: %w", err)
	}
	// The admin server comes first: a taken port fails at once, and the
	// status page and /readyz (503 until values are served) show a slow
	// start as it happens.
	if err := h.startAdmin(ctx); err != nil {
		return err
	}
	if err := h.disp.Subscribe(recorderName, event.All, h.rec, dispatch.QueueSize(1024)); err != nil {
		return fmt.Errorf("host: %w", err)
	}
	if err := h.subscribeConflicts(); err != nil {
		return err
	}
	for _, hk := range h.opts.hooks {
		kinds := hk.Kinds
		if kinds == 0 {
			kinds = event.All
		}
		if err := h.disp.Subscribe(hk.Name, kinds, hk.Subscriber,
			dispatch.QueueSize(hk.QueueSize), dispatch.Deadline(hk.Deadline)); err != nil {
			return fmt.Errorf("host: hook %q: %w", hk.Name, err)
		}
	}

	url := h.cfg.Service.URL
	if url == "" {
		emb, err := startEmbedded(ctx, h.cfg, h.log)
		if err != nil {
			return err
		}
		h.embedded = emb
		url = emb.URL()
		h.log.Info("embedded Heksher server listening", "url", url)
	}
	h.url.Store(&url)
	if err := h.startRelay(ctx); err != nil {
		return err
	}
	if err := h.newClient(); err != nil {
		return err
	}
	if err := h.declareHostSettings(); err != nil {
		return err
	}
	// The plugins' gates are subscribed before the first update, so that
	// its events reach the plugins that load after it.
	h.mgr.prepareStart(h.cfg.Plugins)
	if err := h.startClient(ctx); err != nil {
		return err
	}
	h.mgr.loadStart(ctx)
	h.fetchPluginSettings(ctx)
	return nil
}

func (h *Host) startAdmin(ctx context.Context) error {
	token, err := h.adminToken()
	if err != nil {
		return err
	}
	srv, err := admin.New(h, h.metrics, admin.Options{Listen: h.cfg.Admin.Listen, Token: token, Logger: h.log,
		OFREPTargetingFeature: h.cfg.Admin.OFREPTargetingFeature, OFREPStrictContext: h.cfg.Admin.OFREPStrictContext})
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	h.admin = srv
	h.log.Info("admin server listening", "url", srv.URL())
	return nil
}

// startClient starts the client (declarations, first update), waiting at
// most the start-up timeout. With the client's degraded start, a service
// that fails or does not answer in time leaves it serving the snapshot from
// the state directory, or the local defaults, while it keeps declaring and
// updating in the background; the status says which. The client does not
// take the process's main-client slot, so a program embedding the host
// keeps its own main client.
func (h *Host) startClient(ctx context.Context) error {
	startCtx, cancel := context.WithTimeout(ctx, h.cfg.StartupTimeout.D())
	defer cancel()
	if err := h.client.Start(startCtx); err != nil {
		return fmt.Errorf("host: starting the client: %w", err)
	}
	h.ready.Store(true)
	h.log.Info("serving setting values", "source", h.serving())
	return nil
}

// fetchSoon asks the running client for an update in the background, so
// that settings declared after the first update (by a plugin that loaded
// later) get their values at once rather than an update interval later.
func (h *Host) fetchSoon() {
	h.bgMu.Lock()
	defer h.bgMu.Unlock()
	if h.bgCtx.Err() != nil {
		return
	}
	h.bg.Go(func() {
		ctx, cancel := context.WithTimeout(h.bgCtx, h.cfg.StartupTimeout.D())
		defer cancel()
		if err := h.client.Reload(ctx); err != nil && h.bgCtx.Err() == nil {
			h.log.Debug("fetching the values of newly declared settings", "err", err)
		}
	})
}

// fetchPluginSettings waits, at most the start-up timeout, for an update
// that brings the values of the settings the plugins declared (the periodic
// update would bring them only an interval later). It is skipped when the
// service could not be reached at start: the background retries bring them.
func (h *Host) fetchPluginSettings(ctx context.Context) {
	if h.client == nil || h.client.Status().Origin != heksher.OriginService || len(h.mgr.snapshot()) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.StartupTimeout.D())
	defer cancel()
	if err := h.client.Reload(ctx); err != nil {
		h.log.Warn("fetching the values of the plugins' settings", "err", err)
	}
}

// recordFailed shows a plugin that failed to load as failed in the status.
func (h *Host) recordFailed(spec config.Plugin, err error) {
	h.failedMu.Lock()
	defer h.failedMu.Unlock()
	h.failed = slices.DeleteFunc(h.failed, func(p admin.PluginStatus) bool { return p.Name == spec.Name })
	h.failed = append(h.failed, admin.PluginStatus{Name: spec.Name, Kind: spec.Kind, Path: spec.Path,
		State: pluginapi.StateFailed.String(), LastError: err.Error(), LastErrorAt: time.Now()})
}

// forgetFailed removes a plugin from the failed-to-load list.
func (h *Host) forgetFailed(name string) {
	h.failedMu.Lock()
	defer h.failedMu.Unlock()
	h.failed = slices.DeleteFunc(h.failed, func(p admin.PluginStatus) bool { return p.Name == name })
}

// Apply makes the running plugin set match plugins (see the package doc,
// "Plugins"), and restarts the running plugins that their runtime gave up
// (state failed) although their configuration did not change. A failed
// apply leaves the running set as it was. A failed restart is logged and
// returned; the rest of the apply stands.
func (h *Host) Apply(ctx context.Context, plugins []config.Plugin) error {
	restartErr, err := h.mgr.reload(ctx, plugins, failedPlugin)
	if err != nil {
		h.log.Error("plugin reload failed; running plugins unchanged", "err", err)
		return err
	}
	h.failedMu.Lock()
	h.failed = nil
	h.failedMu.Unlock()
	h.log.Info("plugins reloaded", "running", len(h.mgr.snapshot()))
	return restartErr
}

// RestartPlugin restarts the configured plugin name, also one that is
// failed or failed to load: in place when its runtime can
// ([pluginapi.Restarter]: failures forgotten, a fresh instance or process,
// initialised again), else by loading it afresh. The other plugins are left
// as they are. It implements admin.PluginRestarter.
//
// # Errors
//
// An error matching admin.ErrUnknownPlugin when no plugin of that name is
// configured; the plugin's start error (a [*PluginError]); [ErrClosed].
func (h *Host) RestartPlugin(ctx context.Context, name string) error {
	err := h.mgr.restart(ctx, name)
	switch {
	case err == nil:
		h.forgetFailed(name)
	case errors.Is(err, admin.ErrUnknownPlugin), errors.Is(err, ErrClosed):
	default:
		if spec, ok := h.mgr.spec(name); ok && !h.mgr.isRunning(name) {
			h.recordFailed(spec, err)
		}
	}
	return err
}

// Reload reads the configuration from the source given with
// [WithConfigSource] and applies its plugin set. Changes to other sections
// need a restart and are logged.
func (h *Host) Reload(ctx context.Context) error {
	if h.opts.source == nil {
		return errors.New("host: reload: no configuration source")
	}
	cfg, err := h.opts.source()
	if err != nil {
		h.log.Error("reload: configuration refused; running plugins unchanged", "err", err)
		return err
	}
	cfg = cfg.WithDefaults()
	if !sameExceptPlugins(h.cfg, cfg) {
		h.log.Warn("reload applies the plugins section only; restart the host for the other changes")
	}
	return h.Apply(ctx, cfg.Plugins)
}

func sameExceptPlugins(a, b config.Config) bool {
	a.Plugins, b.Plugins = nil, nil
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// Close closes the client (which publishes the closing event), delivers
// what is queued to the plugins (the closing event included), stops the
// plugins, the admin server and the embedded server. It waits at most until
// ctx ends; when ctx has a deadline, delivering what is queued ends a
// quarter of the remaining time (at most a second) earlier, so that a
// plugin stuck in a delivery cannot leave the others no time to stop.
// Idempotent.
func (h *Host) Close(ctx context.Context) error {
	h.closeOnce.Do(func() {
		var errs []error
		h.bgMu.Lock()
		h.bgCancel()
		h.bgMu.Unlock()
		h.bg.Wait() // each ends with bgCtx: a client reload waits for nothing else
		if h.client != nil {
			errs = append(errs, closeClient(ctx, h.client))
		}
		// A plugin stuck in a delivery must not use up the whole budget:
		// the drain ends early enough to leave time to stop the plugins
		// and the servers.
		dctx, cancel := drainContext(ctx)
		errs = append(errs, h.disp.Close(dctx))
		cancel()
		errs = append(errs, h.mgr.close(ctx))
		for _, l := range h.opts.loaders {
			if c, ok := l.(interface{ Close(context.Context) error }); ok {
				errs = append(errs, c.Close(ctx))
			}
		}
		if h.relay != nil {
			errs = append(errs, h.relay.close(ctx))
		}
		if h.admin != nil {
			errs = append(errs, h.admin.Close(ctx))
		}
		if h.embedded != nil {
			errs = append(errs, h.embedded.Close(ctx))
		}
		h.closeErr = errors.Join(errs...)
	})
	return h.closeErr
}

// drainReserve is the share of Close's budget kept back from draining the
// plugins' queues, for stopping them and the servers; at most
// maxDrainReserve.
const (
	drainReserve    = 4
	maxDrainReserve = time.Second
)

// drainContext returns the context for draining the queues at Close: ctx
// itself without a deadline, else one that ends a quarter of the remaining
// time (at most a second) before ctx does.
func drainContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	reserve := min(time.Until(dl)/drainReserve, maxDrainReserve)
	return context.WithDeadline(ctx, dl.Add(-reserve))
}

// AdminURL returns the admin server's URL ("" before Start).
func (h *Host) AdminURL() string {
	if h.admin == nil {
		return ""
	}
	return h.admin.URL()
}

// ServiceURL returns the URL of the Heksher service in use: the configured
// one, or the embedded server's ("" before Start).
func (h *Host) ServiceURL() string {
	if u := h.url.Load(); u != nil {
		return *u
	}
	return ""
}

// Ready reports whether the host serves values (after Start).
func (h *Host) Ready() bool { return h.ready.Load() }

func (h *Host) adminToken() (string, error) {
	if h.cfg.Admin.TokenFile == "" {
		return h.cfg.Admin.Token, nil
	}
	b, err := os.ReadFile(h.cfg.Admin.TokenFile)
	if err != nil {
		return "", fmt.Errorf("host: admin token: %w", err)
	}
	t := string(trimNewline(b))
	if t == "" {
		return "", fmt.Errorf("host: admin token file %s is empty", h.cfg.Admin.TokenFile)
	}
	return t, nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func (h *Host) snapshotPath() string { return filepath.Join(h.cfg.StateDir, "snapshot.json") }

// closeClient closes c, giving up waiting when ctx ends (the client's loops
// are cancelled by then and end on their own).
func closeClient(ctx context.Context, c *heksher.Client) error {
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("host: closing the client: %w", ctx.Err())
	}
}
