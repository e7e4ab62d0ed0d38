package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/heksher-go/heksher/pluginapi"
)

// Runtime loads and runs wasm plugins. It holds one wazero runtime per
// policy group (preemption on or off, memory limit), since both are
// runtime-wide settings in wazero, and one compilation cache shared by all
// groups. A module is compiled once per group and shared by every plugin
// loaded from the same bytes.
//
// A Runtime is safe for concurrent use. Close it when done.
type Runtime struct {
	log   *slog.Logger
	cache wazero.CompilationCache

	mu      sync.Mutex
	closed  bool
	groups  map[groupKey]*group
	plugins map[*Plugin]struct{}

	// compiling counts compilations in progress, which run without mu;
	// Close waits for them before it closes the wazero runtimes under them.
	compiling sync.WaitGroup

	// beforeCompile, when set (by tests, before the runtime is shared), runs
	// at the start of each compilation, outside mu; an error it returns
	// fails that compilation.
	beforeCompile func() error
}

// groupKey is what wazero can only set per runtime.
type groupKey struct {
	preempt  bool
	memPages uint32
}

type group struct {
	key      groupKey
	rt       wazero.Runtime
	compiled map[[32]byte]*compiled
}

// compiled is a module compiled in one group, shared by reference count.
// It is in its group's map from the moment its compilation starts, so that
// a second load of the same bytes waits for that compilation instead of
// starting another; done is closed when mod (or err) is set.
type compiled struct {
	sum  [32]byte
	refs int // guarded by Runtime.mu

	done chan struct{}
	mod  wazero.CompiledModule // set before done is closed
	// warnings are validation's remarks on a valid module (exports that
	// look like misspelt ABI exports); set before done is closed.
	warnings []string
	err      error // set before done is closed; the entry has then left the map
}

// NewRuntime returns a Runtime configured by cfg.
//
// # Errors
//
// The cache directory cannot be created.
func NewRuntime(ctx context.Context, cfg RuntimeConfig) (*Runtime, error) {
	_ = ctx // reserved: creating the cache does no I/O that could block today
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("wasm: compilation cache: %w", err)
		}
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasm: compilation cache %s: %w", cfg.CacheDir, err)
		}
		cache = c
	} else {
		cache = wazero.NewCompilationCache()
	}
	return &Runtime{log: log, cache: cache, groups: map[groupKey]*group{}, plugins: map[*Plugin]struct{}{}}, nil
}

// Load compiles (or reuses) the module of cfg, validates it against ABI v1,
// and returns a plugin with one instance already made and initialised with
// cfg.Config, its [pluginapi.Manifest] known. The plugin's lookups go to
// settings. Concurrent loads of the same module compile it once; the
// runtime's lock is not held while compiling, so a slow compilation (seconds
// with a cold cache) does not hold up other plugins' loads or closes.
//
// # Errors
//
//   - a bad config (no name, no module, a limit out of range);
//   - the module cannot be read; [ErrChecksum];
//   - [ErrInvalidModule] (a [*ValidationError]) naming the plugin and what is
//     wrong: not wasm, another ABI version, a missing export, a wrong
//     signature, an import the host does not provide, a memory over the limit;
//   - [ErrInit] when _initialize or heksher_init fails (wrapping a
//     [*CallError]);
//   - [ErrClosed].
func (r *Runtime) Load(ctx context.Context, cfg PluginConfig, settings pluginapi.Settings) (*Plugin, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if settings == nil {
		return nil, fmt.Errorf("wasm: plugin %q: settings is nil", cfg.Name)
	}
	g, c, err := r.compiled(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if len(c.warnings) > 0 {
		r.log.Warn("wasm: module exports names close to the ABI's that the host never calls",
			slog.String("plugin", cfg.Name), slog.String("warnings", strings.Join(c.warnings, "; ")))
	}

	p, err := newPlugin(r, g, c, cfg, settings)
	if err != nil {
		r.release(g, c)
		return nil, err
	}
	if err := p.start(ctx); err != nil {
		if p.fsys != nil {
			_ = p.fsys.close()
		}
		r.release(g, c)
		return nil, err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = p.Close(ctx)
		return nil, ErrClosed
	}
	r.plugins[p] = struct{}{}
	r.mu.Unlock()
	return p, nil
}

// compiled reads cfg's module, checks its checksum and header, and returns
// it compiled and validated in the group of cfg's policy, with one more
// reference (give it back with release).
func (r *Runtime) compiled(ctx context.Context, cfg PluginConfig) (*group, *compiled, error) {
	code := cfg.Bytes
	if cfg.Path != "" {
		var err error
		if code, err = os.ReadFile(cfg.Path); err != nil {
			return nil, nil, fmt.Errorf("wasm: plugin %q: %w", cfg.Name, err)
		}
	}
	sum := sha256.Sum256(code)
	if cfg.SHA256 != "" && !strings.EqualFold(cfg.SHA256, hex.EncodeToString(sum[:])) {
		return nil, nil, fmt.Errorf("wasm: plugin %q: sha256 is %x, config says %s: %w", cfg.Name, sum, cfg.SHA256, ErrChecksum)
	}
	if !bytes.HasPrefix(code, []byte("\x00asm")) {
		return nil, nil, &ValidationError{Plugin: cfg.Name, Problem: "not a WebAssembly binary (no \\0asm magic)"}
	}
	if len(code) < 8 || !bytes.Equal(code[4:8], []byte{1, 0, 0, 0}) {
		return nil, nil, &ValidationError{Plugin: cfg.Name, Problem: "unsupported WebAssembly binary version (want 1)"}
	}

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, nil, ErrClosed
	}
	g, err := r.group(ctx, groupKey{preempt: !cfg.DisablePreemption, memPages: cfg.MemoryLimitPages})
	r.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	c, err := r.compile(ctx, g, cfg.Name, sum, code)
	if err != nil {
		return nil, nil, err
	}
	return g, c, nil
}

// group returns the group for key, creating it. Called with r.mu held.
func (r *Runtime) group(ctx context.Context, key groupKey) (*group, error) {
	if g := r.groups[key]; g != nil {
		return g, nil
	}
	rc := wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(r.cache).
		WithCloseOnContextDone(key.preempt).
		WithMemoryLimitPages(key.memPages)
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("wasm: instantiating WASI: %w", err)
	}
	if err := instantiateHostModule(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("wasm: instantiating %s: %w", "heksher_v1", err)
	}
	g := &group{key: key, rt: rt, compiled: map[[32]byte]*compiled{}}
	r.groups[key] = g
	return g, nil
}

// compile returns the validated compiled module for sum in g, with one
// more reference, compiling it unless another load already has or is
// doing so. It takes the runtime's lock only to find or publish the entry.
func (r *Runtime) compile(ctx context.Context, g *group, name string, sum [32]byte, code []byte) (*compiled, error) {
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil, ErrClosed
		}
		c := g.compiled[sum]
		if c == nil {
			break // r.mu is still held: publish the entry below
		}
		c.refs++
		r.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			r.release(g, c)
			return nil, fmt.Errorf("wasm: plugin %q: waiting for its module to compile: %w", name, ctx.Err())
		}
		if c.err == nil {
			return c, nil
		}
		// That compilation failed (perhaps only its caller gave up) and its
		// entry is gone: compile again for this caller.
		r.release(g, c)
	}
	c := &compiled{sum: sum, refs: 1, done: make(chan struct{})}
	g.compiled[sum] = c
	r.compiling.Add(1)
	r.mu.Unlock()

	var mod wazero.CompiledModule
	var err error
	if r.beforeCompile != nil {
		err = r.beforeCompile()
	}
	if err == nil {
		mod, err = g.rt.CompileModule(ctx, code)
	}
	switch {
	case err != nil && ctx.Err() != nil:
		err = fmt.Errorf("wasm: plugin %q: compiling: %w", name, err)
	case err != nil:
		err = &ValidationError{Plugin: name, Problem: "does not compile", Err: err}
	default:
		problems, warnings := validate(g.rt, mod)
		if len(problems) > 0 {
			_ = mod.Close(ctx)
			mod, err = nil, &ValidationError{Plugin: name, Problem: strings.Join(problems, "; "), Problems: problems}
		}
		c.warnings = warnings
	}

	r.mu.Lock()
	c.mod, c.err = mod, err
	if err != nil && g.compiled[sum] == c {
		delete(g.compiled, sum)
	}
	close(c.done)
	r.mu.Unlock()
	r.compiling.Done()
	if err != nil {
		r.release(g, c)
		return nil, err
	}
	return c, nil
}

// release drops one reference to c, closing its module with the last.
func (r *Runtime) release(g *group, c *compiled) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.refs--
	if c.refs > 0 {
		return
	}
	if g.compiled[c.sum] == c {
		delete(g.compiled, c.sum)
	}
	if c.mod != nil && !r.closed {
		_ = c.mod.Close(context.Background())
	}
}

func (r *Runtime) forget(p *Plugin) {
	r.mu.Lock()
	delete(r.plugins, p)
	r.mu.Unlock()
}

// Close closes every plugin the runtime loaded, waits for compilations in
// progress (wazero cannot interrupt one), then closes the wazero runtimes
// and the cache; a load that was compiling fails with [ErrClosed] or an
// init error. A plugin whose guest is still running (only possible with
// DisablePreemption) is abandoned when ctx ends. Idempotent.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	plugins := make([]*Plugin, 0, len(r.plugins))
	for p := range r.plugins {
		plugins = append(plugins, p)
	}
	r.mu.Unlock()

	var errs []error
	for _, p := range plugins {
		if err := p.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	r.mu.Lock()
	r.closed = true
	groups := r.groups
	r.groups = map[groupKey]*group{}
	r.mu.Unlock()
	r.compiling.Wait()
	for _, g := range groups {
		if err := g.rt.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("wasm: closing runtime: %w", err))
		}
	}
	if err := r.cache.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("wasm: closing cache: %w", err))
	}
	return errors.Join(errs...)
}
