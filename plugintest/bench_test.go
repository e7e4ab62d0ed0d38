package plugintest_test

import (
	"context"
	"testing"

	"github.com/heksher-go/heksher/plugintest"
)

// BenchmarkLoadAndDeliver measures what a test of a wasm plugin costs:
// Open (a new runtime, the module read back from the warm compilation
// cache, validated, instantiated and initialised), one event delivered, and
// Close. The cold variants compile the module at every load.
func BenchmarkLoadAndDeliver(b *testing.B) {
	for _, c := range []struct {
		name, path, target string
		cold               bool
	}{
		{"wat", watExample, "", false},
		{"assemblyscript", asExample, "", false},
		{"go", goWasmExample, "wasm", false},
		// cold: an in-memory cache of the runtime's own, so every load compiles.
		{"wat/cold", watExample, "", true},
		{"assemblyscript/cold", asExample, "", true},
	} {
		b.Run(c.name, func(b *testing.B) {
			if c.target != "" {
				need(b, c.path, c.target)
			}
			ctx := context.Background()
			cache := b.TempDir()
			if c.cold {
				cache = "-"
			}
			load := func() {
				p, err := plugintest.Open(ctx, c.path, plugintest.Options{CacheDir: cache})
				if err != nil {
					b.Fatal(err)
				}
				// rate_limit: declared by the Go and AssemblyScript examples.
				if err := p.SendSettingChanged(ctx, "rate_limit", plugintest.Rule(250)); err != nil {
					b.Fatal(err)
				}
				if err := p.Close(ctx); err != nil {
					b.Fatal(err)
				}
			}
			load() // warms the cache
			for b.Loop() {
				load()
			}
		})
	}
}
