package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/heksher-go/heksher/dispatch"
	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/admin"
	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/pluginapi"
)

// loadedPlugin is one running plugin and what it was loaded from.
type loadedPlugin struct {
	spec     config.Plugin // with defaults
	key      string        // content hash + canonical spec: equal keys need no reload
	sha      string
	plugin   pluginapi.Plugin
	manifest pluginapi.Manifest
	decls    []pluginapi.Declaration // normalised
	loadedAt time.Time
	gate     *startGate        // the gate it joined through at start-up; nil after a reload
	sub      *pluginSubscriber // what its events go through; nil until it is committed
}

// declareFunc makes settings new to the registry known to the client core.
type declareFunc func(ctx context.Context, decls []pluginapi.Declaration) error

// manager owns the running plugin set. Changes go through apply, which loads
// everything new first and commits only if every load succeeded, so a failed
// reload leaves the running set exactly as it was.
type manager struct {
	log      *slog.Logger
	loaders  map[string]Loader
	disp     *dispatch.Dispatcher
	reg      *registry
	metrics  *admin.Metrics
	settings func(plugin string, grants config.Grants) pluginapi.Settings
	declare  declareFunc
	reserved map[string]bool // names taken by the host's own subscribers (Go hooks, the recorder)

	// onFail records a plugin that failed to load at start-up; nil means
	// only log it.
	onFail func(spec config.Plugin, err error)
	// declCachePath is the declaration cache (see declcache.go); "" keeps
	// none.
	declCachePath string
	// conflictOf returns the conflict the service reported for a
	// setting's declaration (nil: none, or no client); later runs a
	// function on the host's background goroutines; onUnload records a
	// plugin unloaded for its conflicts (see conflicts.go). Each may be nil.
	conflictOf func(setting string) error
	later      func(func())
	onUnload   func(spec config.Plugin, reason error, conflicts []string)

	mu      sync.Mutex // serialises apply, the start-up commits and close
	running map[string]*loadedPlugin
	order   []string
	closed  bool
	// specs is the configured plugin set (defaults applied) of the start or
	// the last successful reload, running or not, in configuration order.
	specs []config.Plugin
	// starting are the plugins whose start-up load is still running, with
	// the gates that keep their events meanwhile.
	starting  []config.Plugin
	gates     map[string]*startGate
	startDone chan struct{} // closed when the start-up loads are over; nil before
	// predeclared are the settings declared at start from the cache, by
	// plugin, until the plugin joins or fails; cached is the cache as read
	// then, kept for the plugins still starting when it is saved.
	predeclared map[string][]pluginapi.Declaration
	cached      map[string]declCacheEntry

	// attributed are the conflicts logged per plugin load (conflicts.go).
	attributed map[*loadedPlugin]map[string]bool

	bgOnce   sync.Once
	bgCtx    context.Context // ends when the manager closes
	bgCancel context.CancelFunc
	bg       sync.WaitGroup // gates being opened

	viewMu       sync.RWMutex // guards view and viewStarting, read by status and lookups
	view         []*loadedPlugin
	viewStarting []config.Plugin
}

func (m *manager) snapshot() []*loadedPlugin {
	m.viewMu.RLock()
	defer m.viewMu.RUnlock()
	return m.view
}

// startingSnapshot returns the plugins whose start-up load is still running.
func (m *manager) startingSnapshot() []config.Plugin {
	m.viewMu.RLock()
	defer m.viewMu.RUnlock()
	return m.viewStarting
}

func (m *manager) publishView() {
	v := make([]*loadedPlugin, 0, len(m.order))
	for _, n := range m.order {
		v = append(v, m.running[n])
	}
	st := slices.Clone(m.starting)
	m.viewMu.Lock()
	m.view = v
	m.viewStarting = st
	m.viewMu.Unlock()
}

// background returns the context of the manager's own goroutines, which
// ends when the manager closes.
func (m *manager) background() context.Context {
	m.bgOnce.Do(func() { m.bgCtx, m.bgCancel = context.WithCancel(context.Background()) })
	return m.bgCtx
}

// orderLocked sets the running order to the configured order.
func (m *manager) orderLocked() {
	m.order = m.order[:0]
	for _, sp := range m.specs {
		if _, ok := m.running[sp.Name]; ok {
			m.order = append(m.order, sp.Name)
		}
	}
	for n := range m.running { // running but no longer configured: only while a reload commits
		if !slices.Contains(m.order, n) {
			m.order = append(m.order, n)
		}
	}
}

// prepareStart records the configured plugins as starting and subscribes a
// [startGate] for each, so that events published from now on (the first
// update's included) wait for the plugin instead of being missed. Called
// once, before the client's first update; [manager.loadStart] loads them.
func (m *manager) prepareStart(want []config.Plugin) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.startDone = make(chan struct{})
	m.gates = map[string]*startGate{}
	names := make([]string, 0, len(want))
	for _, spec := range want {
		names = append(names, spec.Name)
	}
	m.reg.setOwnerOrder(names)
	var keyed []keyedSpec
	for _, spec := range want {
		if _, _, key, err := m.identify(spec.WithDefaults()); err == nil {
			keyed = append(keyed, keyedSpec{spec.Name, key})
		}
	}
	m.predeclareLocked(keyed)
	for _, spec := range want {
		spec = spec.WithDefaults()
		m.specs = append(m.specs, spec)
		m.starting = append(m.starting, spec)
		if m.reserved[spec.Name] {
			continue // refused by loadStart
		}
		g := newStartGate(spec.QueueSize, spec.Deadline.D())
		if err := m.disp.Subscribe(spec.Name, event.All, g,
			dispatch.QueueSize(spec.QueueSize), dispatch.Deadline(spec.Deadline.D())); err == nil {
			m.gates[spec.Name] = g
		}
	}
	m.publishView()
}

// loadStart loads the plugins given to prepareStart, all at once, each
// bounded by its start timeout, so that N plugins that never become ready
// cost one start timeout, not N. Each is committed as soon as its load ends
// and every plugin before it in the configuration is committed or failed:
// when two plugins declare one setting differently, the earlier keeps it,
// whichever loaded first. A plugin that declares no settings cannot
// conflict and is committed at once. A plugin waiting for an earlier one
// keeps its events in its gate meanwhile. A plugin that fails is left out
// and reported to onFail. It returns when every load has ended.
func (m *manager) loadStart(ctx context.Context) {
	m.mu.Lock()
	specs := slices.Clone(m.starting)
	done := m.startDone
	m.mu.Unlock()
	if done == nil {
		return
	}
	defer close(done)
	type result struct {
		i    int
		spec config.Plugin
		lp   *loadedPlugin
		err  error
	}
	results := make(chan result)
	var wg sync.WaitGroup
	for i, spec := range specs {
		wg.Go(func() {
			lp, err := m.loadSpec(ctx, spec)
			results <- result{i, spec, lp, err}
		})
	}
	go func() { wg.Wait(); close(results) }()
	finished := make([]bool, len(specs))
	held := map[int]result{}
	for r := range results {
		finished[r.i] = true
		if r.err != nil || len(r.lp.decls) == 0 {
			m.commitStarted(r.spec, r.lp, r.err)
		} else {
			held[r.i] = r
		}
		for i := range specs {
			if h, ok := held[i]; ok {
				delete(held, i)
				m.commitStarted(h.spec, h.lp, h.err)
				continue
			}
			if !finished[i] {
				break
			}
		}
	}
}

// loadSpec reads, checks and loads one plugin.
func (m *manager) loadSpec(ctx context.Context, spec config.Plugin) (*loadedPlugin, error) {
	if m.reserved[spec.Name] {
		return nil, errors.New("the name is taken by an in-process hook of the host")
	}
	content, sha, key, err := m.identify(spec)
	if err != nil {
		return nil, err
	}
	return m.load(ctx, spec, content, sha, key)
}

// commitStarted adds a plugin loaded at start-up to the running set, or
// records its failure.
func (m *manager) commitStarted(spec config.Plugin, lp *loadedPlugin, err error) {
	m.mu.Lock()
	g := m.gates[spec.Name]
	delete(m.gates, spec.Name)
	m.starting = slices.DeleteFunc(slices.Clone(m.starting), func(s config.Plugin) bool { return s.Name == spec.Name })
	if err == nil && m.closed {
		err = ErrClosed
	}
	var redeclare []pluginapi.Declaration
	if pd, ok := m.predeclared[spec.Name]; ok {
		delete(m.predeclared, spec.Name)
		if err != nil || !sameDecls(pd, lp.decls) {
			// It declares otherwise than last time (or failed): what was
			// declared for it is nobody's now, and its own declarations
			// replace it.
			m.reg.removeOwner(spec.Name)
			if err == nil {
				redeclare = m.reg.replaceOrphans(lp.decls)
			}
		}
	}
	if err == nil {
		if err = m.reg.check(spec.Name, lp.decls); err == nil {
			if newDecls := append(redeclare, m.reg.add(spec.Name, lp.decls)...); len(newDecls) > 0 && m.declare != nil {
				if err = m.declare(m.background(), newDecls); err != nil {
					m.reg.removeOwner(spec.Name)
					err = fmt.Errorf("declaring its settings: %w", err)
				}
			}
		}
	}
	if err != nil {
		if g != nil {
			g.shut()
			m.disp.Unsubscribe(spec.Name)
		}
		m.publishView()
		m.mu.Unlock()
		if lp != nil {
			m.closePlugin(lp)
		}
		perr := &PluginError{Plugin: spec.Name, Path: spec.Path, Err: err}
		m.log.Error("plugin not loaded", "plugin", spec.Name, "err", err)
		if m.onFail != nil {
			m.onFail(spec, perr)
		}
		return
	}
	sub := newPluginSubscriber(spec.Name, lp.plugin, m.metrics, m.readableBy(spec.Name, spec.Grants.UndeclaredReads))
	filter := newEventFilter(lp.manifest)
	if g == nil {
		if err := m.disp.Subscribe(spec.Name, lp.manifest.Subscriptions, sub,
			filter.subscribeOptions(spec.QueueSize, spec.Deadline.D())...); err != nil {
			m.log.Error("subscribing plugin", "plugin", spec.Name, "err", err)
		}
	}
	lp.gate, lp.sub = g, sub
	m.running[spec.Name] = lp
	m.orderLocked()
	m.publishView()
	m.saveDeclsLocked()
	m.log.Info("plugin loaded", "plugin", spec.Name, "kind", spec.Kind, "sha256", lp.sha[:12],
		"subscriptions", kindNames(lp.manifest.Subscriptions), "declares", len(lp.decls))
	if g != nil {
		bg := m.background()
		m.bg.Go(func() { g.open(bg, sub, filter.accept) })
	}
	unload := m.checkConflictsLocked(lp)
	m.mu.Unlock()
	if unload {
		m.unloadLater([]*loadedPlugin{lp})
	}
}

// waitStart waits until the start-up loads are over (at once when none
// ran), ctx ends or the manager closes.
func (m *manager) waitStart(ctx context.Context) error {
	m.mu.Lock()
	done := m.startDone
	m.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("host: waiting for the plugins' start-up: %w", context.Cause(ctx))
	case <-m.background().Done():
		return ErrClosed
	}
}

// apply makes the running set match want: unchanged plugins (same name,
// content hash and configuration) keep running; new and changed ones are
// loaded (all at once, each bounded by its start timeout) and checked;
// removed and replaced ones are stopped. On success want becomes the
// configured set.
func (m *manager) apply(ctx context.Context, want []config.Plugin) error {
	_, err := m.reload(ctx, want, nil)
	return err
}

// reload is apply that also restarts the unchanged running plugins for
// which restart answers true (see applyRestart). The restarts come after
// the new set is committed; their errors are returned apart, since the
// apply stands.
func (m *manager) reload(ctx context.Context, want []config.Plugin, restart func(*loadedPlugin) bool) (restartErr, err error) {
	revive, err := m.applyRestart(ctx, want, restart)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.specs = m.specs[:0]
	names := make([]string, 0, len(want))
	for _, spec := range want {
		m.specs = append(m.specs, spec.WithDefaults())
		names = append(names, spec.Name)
	}
	m.reg.setOwnerOrder(names)
	m.mu.Unlock()
	return m.restartAll(ctx, revive), nil
}

// failedPlugin answers whether lp's runtime gave it up (state failed).
func failedPlugin(lp *loadedPlugin) bool { return lp.plugin.Status().State == pluginapi.StateFailed }

// spec returns the configured plugin name.
func (m *manager) spec(name string) (config.Plugin, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, sp := range m.specs {
		if sp.Name == name {
			return sp, true
		}
	}
	return config.Plugin{}, false
}

// isRunning reports whether name is in the running set.
func (m *manager) isRunning(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.running[name]
	return ok
}

// applyRestart is apply without recording want as the configured set. An
// unchanged running plugin for which restart answers true is restarted
// too: one whose runtime implements [pluginapi.Restarter] is returned, to be
// restarted in place once the manager's lock is released; any other is
// loaded afresh and replaced like a changed one.
func (m *manager) applyRestart(ctx context.Context, want []config.Plugin, restart func(*loadedPlugin) bool) (revive []*loadedPlugin, _ error) {
	if err := m.waitStart(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	// Stage 1: load what is new or changed, without touching the running
	// set; all loads run at once, then are checked in configuration order.
	type job struct {
		spec     config.Plugin
		content  []byte
		sha, key string
		lp       *loadedPlugin
		err      error
	}
	var jobs []*job
	wantNames := make([]string, 0, len(want))
	for _, spec := range want {
		spec = spec.WithDefaults()
		wantNames = append(wantNames, spec.Name)
		if m.reserved[spec.Name] {
			return nil, &PluginError{Plugin: spec.Name, Path: spec.Path, Err: errors.New("the name is taken by an in-process hook of the host")}
		}
		content, sha, key, err := m.identify(spec)
		if err != nil {
			return nil, &PluginError{Plugin: spec.Name, Path: spec.Path, Err: err}
		}
		if cur, ok := m.running[spec.Name]; ok && cur.key == key {
			if restart == nil || !restart(cur) {
				continue
			}
			if _, ok := cur.plugin.(pluginapi.Restarter); ok {
				revive = append(revive, cur)
				continue
			}
		}
		jobs = append(jobs, &job{spec: spec, content: content, sha: sha, key: key})
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() { j.lp, j.err = m.load(ctx, j.spec, j.content, j.sha, j.key) })
	}
	wg.Wait()
	var fresh []*loadedPlugin
	undo := func() {
		for _, j := range jobs {
			if j.lp != nil {
				m.closePlugin(j.lp)
			}
		}
	}
	var staged []pluginapi.Declaration
	for _, j := range jobs {
		if j.err != nil {
			undo()
			return nil, &PluginError{Plugin: j.spec.Name, Path: j.spec.Path, Err: j.err}
		}
		fresh = append(fresh, j.lp)
		// Conflicts count against the registry and against other plugins
		// staged in this same reload.
		if err := m.reg.check(j.spec.Name, append(slices.Clone(staged), j.lp.decls...)); err != nil {
			undo()
			return nil, &PluginError{Plugin: j.spec.Name, Path: j.spec.Path, Err: err}
		}
		staged = append(staged, j.lp.decls...)
	}

	// Stage 2: commit. Declarations first, so a plugin never reads a
	// setting the core does not know.
	var newDecls []pluginapi.Declaration
	for _, lp := range fresh {
		newDecls = append(newDecls, m.reg.add(lp.spec.Name, lp.decls)...)
	}
	if len(newDecls) > 0 && m.declare != nil {
		if err := m.declare(ctx, newDecls); err != nil {
			// The core refused a declaration (e.g. an invalid default it
			// checks more strictly); undo the registry entries of fresh
			// plugins whose load we now abandon.
			for _, lp := range fresh {
				m.reg.removeOwner(lp.spec.Name)
			}
			undo()
			return nil, fmt.Errorf("host: declaring plugin settings: %w", err)
		}
	}
	var retired []*loadedPlugin
	for name, cur := range m.running {
		if !slices.Contains(wantNames, name) {
			retired = append(retired, cur)
		}
	}
	for _, lp := range fresh {
		if cur, ok := m.running[lp.spec.Name]; ok {
			retired = append(retired, cur)
		}
	}
	detached := make([]dispatch.Detached, len(retired))
	for i, lp := range retired {
		detached[i], _ = m.disp.Detach(lp.spec.Name)
		delete(m.running, lp.spec.Name)
		if !slices.ContainsFunc(fresh, func(f *loadedPlugin) bool { return f.spec.Name == lp.spec.Name }) {
			m.reg.removeOwner(lp.spec.Name)
			if m.metrics != nil {
				m.metrics.ForgetPlugin(lp.spec.Name)
			}
		}
	}
	for _, lp := range fresh {
		lp.sub = newPluginSubscriber(lp.spec.Name, lp.plugin, m.metrics, m.readableBy(lp.spec.Name, lp.spec.Grants.UndeclaredReads))
		err := m.disp.Subscribe(lp.spec.Name, lp.manifest.Subscriptions, lp.sub,
			newEventFilter(lp.manifest).subscribeOptions(lp.spec.QueueSize, lp.spec.Deadline.D())...)
		if err != nil {
			// Only possible while the dispatcher closes; the plugin is
			// useless then.
			m.log.Error("subscribing plugin", "plugin", lp.spec.Name, "err", err)
		}
		m.running[lp.spec.Name] = lp
		m.log.Info("plugin loaded", "plugin", lp.spec.Name, "kind", lp.spec.Kind, "sha256", lp.sha[:12],
			"subscriptions", kindNames(lp.manifest.Subscriptions), "declares", len(lp.decls))
		if m.checkConflictsLocked(lp) {
			defer m.unloadLater([]*loadedPlugin{lp}) // on the host's goroutines, once the commit is over
		}
	}
	m.order = m.order[:0]
	for _, n := range wantNames {
		if _, ok := m.running[n]; ok {
			m.order = append(m.order, n)
		}
	}
	m.publishView()
	m.saveDeclsLocked()
	m.retire(ctx, retired, detached, fresh)
	return revive, nil
}

// restartAll restarts each plugin in place ([pluginapi.Restarter]), all at
// once, each bounded by its start timeout; the errors are logged and
// returned joined.
func (m *manager) restartAll(ctx context.Context, lps []*loadedPlugin) error {
	errs := make([]error, len(lps))
	var wg sync.WaitGroup
	for i, lp := range lps {
		wg.Go(func() { errs[i] = m.restartOne(ctx, lp) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// restartOne restarts lp in place: its failures are forgotten and it gets
// a fresh instance or process, initialised again.
func (m *manager) restartOne(ctx context.Context, lp *loadedPlugin) error {
	r, ok := lp.plugin.(pluginapi.Restarter)
	if !ok {
		return &PluginError{Plugin: lp.spec.Name, Path: lp.spec.Path, Err: errors.New("its runtime cannot restart it in place")}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(m.background(), cancel) // a shutdown ends the restart
	defer stop()
	if err := r.Restart(ctx); err != nil {
		m.log.Error("plugin restart failed", "plugin", lp.spec.Name, "err", err)
		return &PluginError{Plugin: lp.spec.Name, Path: lp.spec.Path, Err: fmt.Errorf("restart: %w", err)}
	}
	m.log.Info("plugin restarted", "plugin", lp.spec.Name)
	return nil
}

// restart restarts the configured plugin name: in place when it runs and
// its runtime can, else by loading it afresh (a plugin that failed to
// load, or whose runtime has no in-place restart). The other plugins are
// left as they are.
func (m *manager) restart(ctx context.Context, name string) error {
	if err := m.waitStart(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	var want []config.Plugin
	found := false
	for _, sp := range m.specs {
		_, running := m.running[sp.Name]
		if sp.Name == name {
			found = true
		}
		if running || sp.Name == name {
			want = append(want, sp)
		}
	}
	lp := m.running[name]
	m.mu.Unlock()
	if !found {
		return fmt.Errorf("host: plugin %q: %w", name, admin.ErrUnknownPlugin)
	}
	if lp != nil {
		if _, ok := lp.plugin.(pluginapi.Restarter); ok {
			return m.restartOne(ctx, lp)
		}
	}
	revive, err := m.applyRestart(ctx, want, func(lp *loadedPlugin) bool { return lp.spec.Name == name })
	if err != nil {
		return err
	}
	return m.restartAll(ctx, revive)
}

// identify reads the plugin file, checks its hash and computes its key.
func (m *manager) identify(spec config.Plugin) (content []byte, sha, key string, err error) {
	content, err = os.ReadFile(spec.Path)
	if err != nil {
		return nil, "", "", err
	}
	sum := sha256.Sum256(content)
	sha = hex.EncodeToString(sum[:])
	if spec.SHA256 != "" && spec.SHA256 != sha {
		return nil, "", "", fmt.Errorf("%w: file has %s, configuration says %s", ErrChecksum, sha, spec.SHA256)
	}
	canon, err := json.Marshal(spec)
	if err != nil {
		return nil, "", "", fmt.Errorf("plugin configuration: %w", err)
	}
	return content, sha, sha + "|" + string(canon), nil
}

func (m *manager) load(ctx context.Context, spec config.Plugin, content []byte, sha, key string) (*loadedPlugin, error) {
	ld, ok := m.loaders[spec.Kind]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrNoLoader, spec.Kind)
	}
	cfgJSON, err := json.Marshal(config.JSONable(spec.Config))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if spec.Kind != "wasm" {
		// The process runtime bounds its start itself; this guards against
		// a start that does not return in time all the same. A wasm load
		// is not bounded here: its runtime bounds the instantiation and
		// init by StartTimeout, and a compilation is finite work, cached.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, spec.StartTimeout.D(),
			fmt.Errorf("not ready within its start timeout (%v): %w", spec.StartTimeout.D(), ErrStartTimeout))
		defer cancel()
	}
	p, err := m.loadOrAbandon(ctx, ld, PluginSpec{
		Name: spec.Name, Path: spec.Path, Content: content, SHA256: sha, Config: cfgJSON,
		Deadline: spec.Deadline.D(), StartTimeout: spec.StartTimeout.D(), MemoryLimit: int64(spec.MemoryLimit),
		Grants: spec.Grants, Settings: m.settings(spec.Name, spec.Grants), Output: outputBudget(spec.Output),
	})
	if err != nil {
		return nil, err
	}
	lp := &loadedPlugin{spec: spec, key: key, sha: sha, plugin: p, manifest: p.Manifest(), loadedAt: time.Now()}
	for _, d := range lp.manifest.Declarations {
		nd, err := normalize(d)
		if err != nil {
			m.closePlugin(lp)
			return nil, err
		}
		lp.decls = append(lp.decls, nd)
	}
	return lp, nil
}

// loadOrAbandon calls ld.Load, but returns as soon as ctx ends even if the
// runtime does not: a reload cancelled by a shutdown must not hold the
// manager (and so the shutdown) for as long as a load takes. The process
// runtime gives up at once, but wazero cannot interrupt a compilation
// (seconds with a cold cache), and a Loader given to the host may ignore ctx.
// An abandoned load finishes in the background, and a plugin it still
// returns is closed at once.
func (m *manager) loadOrAbandon(ctx context.Context, ld Loader, spec PluginSpec) (pluginapi.Plugin, error) {
	type result struct {
		p   pluginapi.Plugin
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := ld.Load(ctx, spec)
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		return r.p, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.err == nil && r.p != nil {
				m.closePlugin(&loadedPlugin{spec: config.Plugin{Name: spec.Name}, plugin: r.p})
			}
		}()
		return nil, fmt.Errorf("load abandoned: %w", context.Cause(ctx))
	}
}

// retire stops the plugins a reload replaced or removed, all at once:
// each gets a closing event saying which (if it subscribed to closing
// events), bounded by its deadline, and is then closed. A plugin that
// hangs in its closing handler therefore delays the reload by its
// deadline and its close's bound, no more. det[i] is what the dispatcher
// discarded of retired[i]'s queue; fresh are the plugins that replace
// some of them.
func (m *manager) retire(ctx context.Context, retired []*loadedPlugin, det []dispatch.Detached, fresh []*loadedPlugin) {
	var wg sync.WaitGroup
	for i, lp := range retired {
		reason := event.ClosingRemoved
		if slices.ContainsFunc(fresh, func(f *loadedPlugin) bool { return f.spec.Name == lp.spec.Name }) {
			reason = event.ClosingReplaced
		}
		wg.Go(func() {
			if lp.sub != nil && lp.manifest.Subscriptions.Has(event.KindClosing) {
				next, dropped := det[i].Next, det[i].Dropped+uint64(len(det[i].Discarded))
				if lp.gate != nil {
					next, dropped = lp.gate.retire(det[i])
				}
				cctx := context.WithoutCancel(ctx) // a reload's caller going away does not skip the closing
				if err := lp.sub.sayClosing(cctx, reason, next, dropped, lp.spec.Deadline.D()); err != nil {
					m.log.Warn("plugin's closing event failed", "plugin", lp.spec.Name, "reason", reason.String(), "err", err)
				}
			} else if lp.gate != nil {
				lp.gate.shut()
			}
			m.log.Info("plugin stopped", "plugin", lp.spec.Name, "sha256", lp.sha[:12], "reason", reason.String())
			m.closePlugin(lp)
			if reason == event.ClosingRemoved && m.metrics != nil {
				// Its closing delivery was observed after the reload
				// forgot its series: forget them again.
				m.metrics.ForgetPlugin(lp.spec.Name)
			}
		})
	}
	wg.Wait()
}

func (m *manager) closePlugin(lp *loadedPlugin) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := lp.plugin.Close(ctx); err != nil {
		m.log.Warn("closing plugin", "plugin", lp.spec.Name, "err", err)
	}
}

// close stops every plugin; the dispatcher must already be closed so that
// the closing event was delivered first.
func (m *manager) close(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	// Gates still handing kept events over stop; the dispatcher, already
	// closed, delivered the closing event through them.
	m.background()
	m.bgCancel()
	waited := make(chan struct{})
	go func() { m.bg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
	}
	var wg sync.WaitGroup
	errs := make([]error, len(m.order))
	for i, n := range m.order {
		lp := m.running[n]
		wg.Go(func() {
			if err := lp.plugin.Close(ctx); err != nil {
				errs[i] = fmt.Errorf("host: closing plugin %q: %w", n, err)
			}
		})
	}
	wg.Wait()
	m.running = map[string]*loadedPlugin{}
	m.order = nil
	m.publishView()
	return errors.Join(errs...)
}

func kindNames(s event.Set) []string {
	var out []string
	for _, k := range s.Kinds() {
		out = append(out, k.String())
	}
	return out
}
