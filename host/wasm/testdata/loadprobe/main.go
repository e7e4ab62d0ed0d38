// Command loadprobe loads one plugin in a fresh process and prints how long
// that took, in microseconds. BenchmarkLoadFreshProcess runs it once per
// iteration, because a host loads its plugins right after it starts: the Go
// heap is empty, no memory has been touched yet, and no earlier load has
// warmed anything but the on-disk compilation cache.
//
// Usage: loadprobe load|wazero module.wasm cachedir
//
// "load" times wasm.NewRuntime and Runtime.Load; "wazero" times wazero alone
// compiling the same bytes from the same cache, the floor under "load".
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/heksher-go/heksher/host/wasm"
	"github.com/heksher-go/heksher/pluginapi"
)

// noSettings answers every lookup with "not found"; loading needs none.
type noSettings struct{}

func (noSettings) Lookup(context.Context, string, string, []pluginapi.Feature) (pluginapi.Value, error) {
	return pluginapi.Value{}, pluginapi.ErrNotFound
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: loadprobe load|wazero module.wasm cachedir")
		os.Exit(2)
	}
	mode, path, dir := os.Args[1], os.Args[2], os.Args[3]
	elapsed, err := probe(context.Background(), mode, path, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadprobe:", err)
		os.Exit(1)
	}
	fmt.Println(elapsed.Microseconds())
}

func probe(ctx context.Context, mode, path, dir string) (time.Duration, error) {
	start := time.Now()
	switch mode {
	case "load":
		r, err := wasm.NewRuntime(ctx, wasm.RuntimeConfig{CacheDir: dir})
		if err != nil {
			return 0, err
		}
		defer r.Close(ctx)
		if _, err := r.Load(ctx, wasm.PluginConfig{Name: "probe", Path: path}, noSettings{}); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	case "wazero":
		code, err := os.ReadFile(path)
		if err != nil {
			return 0, err
		}
		// The same configuration as the runtime group Load uses by default,
		// so that both find the same cache entry.
		cache, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			return 0, err
		}
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().
			WithCompilationCache(cache).WithCloseOnContextDone(true).
			WithMemoryLimitPages(wasm.DefaultMemoryLimitPages))
		defer rt.Close(ctx)
		if _, err := rt.CompileModule(ctx, code); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	return 0, fmt.Errorf("unknown mode %q", mode)
}
