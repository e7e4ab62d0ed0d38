package host

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/heksher-go/heksher/host/wasm"
	"github.com/heksher-go/heksher/pluginapi"
)

// WasmLoader returns the [Loader] for wasm plugins: one wazero runtime,
// created at the first load, with its compilation cache in cacheDir (""
// keeps it in memory). The host closes it after the plugins.
func WasmLoader(cacheDir string, log *slog.Logger) Loader {
	return &wasmLoader{cacheDir: cacheDir, log: log}
}

type wasmLoader struct {
	cacheDir string
	log      *slog.Logger

	mu sync.Mutex
	rt *wasm.Runtime
}

func (l *wasmLoader) Load(ctx context.Context, spec PluginSpec) (pluginapi.Plugin, error) {
	l.mu.Lock()
	if l.rt == nil {
		rt, err := wasm.NewRuntime(ctx, wasm.RuntimeConfig{CacheDir: l.cacheDir, Logger: l.log})
		if err != nil {
			l.mu.Unlock()
			return nil, err
		}
		l.rt = rt
	}
	rt := l.rt
	l.mu.Unlock()
	env := map[string]string{}
	for _, kv := range grantedEnv(spec.Grants) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	g := spec.Grants
	return rt.Load(ctx, wasm.PluginConfig{
		Name:             spec.Name,
		Bytes:            spec.Content,
		SHA256:           spec.SHA256,
		Config:           spec.Config,
		Deadline:         spec.Deadline,
		InitTimeout:      spec.StartTimeout,
		MemoryLimitPages: uint32(spec.MemoryLimit >> 16),
		Output:           spec.Output,
		Grants: wasm.Grants{
			Dir: g.Dir.Host, GuestDir: g.Dir.Guest, DirReadOnly: g.Dir.ReadOnly,
			Env: env, Clock: g.Clock, Random: g.Random,
		},
	}, spec.Settings)
}

// Close closes the wasm runtime, if one was made.
func (l *wasmLoader) Close(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rt == nil {
		return nil
	}
	return l.rt.Close(ctx)
}
