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
	"github.com/heksher-go/heksher/host/hostapi"
)

// loadedPlugin is one running plugin and what it was loaded from.
type loadedPlugin struct {
	spec     config.Plugin // with defaults
	key      string        // content hash + canonical spec: equal keys need no reload
	sha      string
	plugin   hostapi.Plugin
	manifest hostapi.Manifest
	decls    []hostapi.Declaration // normalised
	loadedAt time.Time
}

// declareFunc makes settings new to the registry known to the client core.
type declareFunc func(ctx context.Context, decls []hostapi.Declaration) error

// manager owns the running plugin set. Changes go through apply, which loads
// everything new first and commits only if every load succeeded, so a failed
// reload leaves the running set exactly as it was.
type manager struct {
	log      *slog.Logger
	loaders  map[string]Loader
	disp     *dispatch.Dispatcher
	reg      *registry
	metrics  *admin.Metrics
	settings func(plugin string, grants config.Grants) hostapi.Settings
	declare  declareFunc
	reserved map[string]bool // names taken by the host's own subscribers (Go hooks, the recorder)

	mu      sync.Mutex // serialises apply and close
	running map[string]*loadedPlugin
	order   []string
	closed  bool

	viewMu sync.RWMutex // guards view, read by status and lookups
	view   []*loadedPlugin
}

func (m *manager) snapshot() []*loadedPlugin {
	m.viewMu.RLock()
	defer m.viewMu.RUnlock()
	return m.view
}

func (m *manager) publishView() {
	v := make([]*loadedPlugin, 0, len(m.order))
	for _, n := range m.order {
		v = append(v, m.running[n])
	}
	m.viewMu.Lock()
	m.view = v
	m.viewMu.Unlock()
}

// apply makes the running set match want: unchanged plugins (same name,
// content hash and configuration) keep running; new and changed ones are
// loaded and checked; removed and replaced ones are stopped.
func (m *manager) apply(ctx context.Context, want []config.Plugin) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	// Stage 1: load what is new or changed, without touching the running set.
	var fresh []*loadedPlugin
	undo := func() {
		for _, lp := range fresh {
			m.closePlugin(lp)
		}
	}
	wantNames := make([]string, 0, len(want))
	var staged []hostapi.Declaration
	for _, spec := range want {
		spec = spec.WithDefaults()
		wantNames = append(wantNames, spec.Name)
		if m.reserved[spec.Name] {
			undo()
			return &PluginError{Plugin: spec.Name, Path: spec.Path, Err: errors.New("the name is taken by an in-process hook of the host")}
		}
		content, sha, key, err := m.identify(spec)
		if err != nil {
			undo()
			return &PluginError{Plugin: spec.Name, Path: spec.Path, Err: err}
		}
		if cur, ok := m.running[spec.Name]; ok && cur.key == key {
			continue
		}
		lp, err := m.load(ctx, spec, content, sha, key)
		if err != nil {
			undo()
			return &PluginError{Plugin: spec.Name, Path: spec.Path, Err: err}
		}
		fresh = append(fresh, lp)
		// Conflicts count against the registry and against other plugins
		// staged in this same reload.
		if err := m.reg.check(spec.Name, append(slices.Clone(staged), lp.decls...)); err != nil {
			undo()
			return &PluginError{Plugin: spec.Name, Path: spec.Path, Err: err}
		}
		staged = append(staged, lp.decls...)
	}

	// Stage 2: commit. Declarations first, so a plugin never reads a
	// setting the core does not know.
	var newDecls []hostapi.Declaration
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
			return fmt.Errorf("host: declaring plugin settings: %w", err)
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
	for _, lp := range retired {
		m.disp.Unsubscribe(lp.spec.Name)
		delete(m.running, lp.spec.Name)
		if !slices.ContainsFunc(fresh, func(f *loadedPlugin) bool { return f.spec.Name == lp.spec.Name }) {
			m.reg.removeOwner(lp.spec.Name)
			if m.metrics != nil {
				m.metrics.ForgetPlugin(lp.spec.Name)
			}
		}
	}
	for _, lp := range fresh {
		err := m.disp.Subscribe(lp.spec.Name, lp.manifest.Subscriptions,
			newPluginSubscriber(lp.spec.Name, lp.plugin, m.metrics),
			dispatch.QueueSize(lp.spec.QueueSize), dispatch.Deadline(lp.spec.Deadline.D()))
		if err != nil {
			// Only possible while the dispatcher closes; the plugin is
			// useless then.
			m.log.Error("subscribing plugin", "plugin", lp.spec.Name, "err", err)
		}
		m.running[lp.spec.Name] = lp
		m.log.Info("plugin loaded", "plugin", lp.spec.Name, "kind", lp.spec.Kind, "sha256", lp.sha[:12],
			"subscriptions", kindNames(lp.manifest.Subscriptions), "declares", len(lp.decls))
	}
	m.order = m.order[:0]
	for _, n := range wantNames {
		if _, ok := m.running[n]; ok {
			m.order = append(m.order, n)
		}
	}
	m.publishView()
	for _, lp := range retired {
		m.log.Info("plugin stopped", "plugin", lp.spec.Name, "sha256", lp.sha[:12])
		m.closePlugin(lp)
	}
	return nil
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
	cfgJSON, err := json.Marshal(jsonable(spec.Config))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	p, err := m.loadOrAbandon(ctx, ld, PluginSpec{
		Name: spec.Name, Path: spec.Path, Content: content, SHA256: sha, Config: cfgJSON,
		Deadline: spec.Deadline.D(), MemoryLimit: int64(spec.MemoryLimit), Grants: spec.Grants,
		Settings: m.settings(spec.Name, spec.Grants),
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
func (m *manager) loadOrAbandon(ctx context.Context, ld Loader, spec PluginSpec) (hostapi.Plugin, error) {
	type result struct {
		p   hostapi.Plugin
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

// jsonable converts YAML-decoded values (which may hold map[any]any from
// non-string keys) into values encoding/json accepts.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonable(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonable(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	}
	return v
}
