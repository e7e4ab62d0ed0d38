package wasm

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// asCompared are the example plugins the load benchmark puts side by side,
// in one run: Go, WAT and AssemblyScript.
var asCompared = []struct{ name, path string }{
	{"go-example", changesWasm},
	{"wat-example", watPluginWasm},
	{"as-example", asPluginWasm},
}

// BenchmarkASLoad measures loading each example plugin: "cold" compiles it
// into an empty cache directory in a new Runtime (the first start of a
// host), "warm" loads it in a new Runtime whose on-disk cache holds it (a
// restart), and "again" loads it once more in a Runtime that has compiled
// it (a reload). Each load includes instantiating, _initialize and
// heksher_init; MB-module is the module's size.
func BenchmarkASLoad(b *testing.B) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	cfg := func(path string) PluginConfig {
		c := PluginConfig{Name: "bench", Path: path}
		if path == changesWasm {
			c.Config = []byte(`{"context":{"env":"prod"}}`)
		}
		return c
	}
	for _, m := range asCompared {
		code, err := os.ReadFile(m.path)
		if err != nil {
			b.Fatal(err)
		}
		load := func(b *testing.B, dir string) {
			r, err := NewRuntime(ctx, RuntimeConfig{CacheDir: dir, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r.Load(ctx, cfg(m.path), newSettings()); err != nil {
				b.Fatal(err)
			}
			if err := r.Close(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(m.name+"/cold", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				dir := filepath.Join(b.TempDir(), "c")
				b.StartTimer()
				load(b, dir)
			}
			b.ReportMetric(float64(len(code))/1e3, "kB-module")
		})
		b.Run(m.name+"/warm", func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "c")
			load(b, dir)
			for b.Loop() {
				load(b, dir)
			}
		})
		b.Run(m.name+"/again", func(b *testing.B) {
			r, err := NewRuntime(ctx, RuntimeConfig{CacheDir: filepath.Join(b.TempDir(), "c"), Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close(ctx)
			if _, err := r.Load(ctx, cfg(m.path), newSettings()); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := r.Load(ctx, cfg(m.path), newSettings()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// asGuests are the two SDKs' test guests; each exports bench_lookups(n),
// which makes n raw lookups of "answer" for env=prod (the Go SDK's GetRaw,
// the AssemblyScript SDK's Setting.fetch), and handles "walk" and "noop"
// setting changes.
var asGuests = []struct{ name, path string }{
	{"go", guestWasm},
	{"as", asGuestWasm},
}

// BenchmarkASLookup compares the SDKs' lookups, timed from the host around
// a call into the guest that makes 1000 of them (ns/lookup).
func BenchmarkASLookup(b *testing.B) {
	const batch = 1000
	for _, g := range asGuests {
		b.Run(g.name, func(b *testing.B) {
			r, _ := newTestRuntime(b)
			p := mustLoad(b, r, PluginConfig{Name: "bench", Path: g.path}, nil)
			fn := p.inst.mod.ExportedFunction("bench_lookups")
			ctx, cancel := p.callContext(b.Context(), p.inst, time.Minute)
			defer cancel()
			stack := make([]uint64, 1)
			start := time.Now()
			for b.Loop() {
				stack[0] = api.EncodeU32(batch)
				if err := fn.CallWithStack(ctx, stack); err != nil {
					b.Fatal(err)
				}
				if int32(stack[0]) < 0 {
					b.Fatal("guest lookup failed")
				}
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N)/batch, "ns/lookup")
		})
	}
}

// BenchmarkASDeliver compares the SDKs' event dispatch: a typical
// setting-changed event delivered by the host, decoded by the SDK and
// handled by "walk" (reads every rule and condition) or "noop".
func BenchmarkASDeliver(b *testing.B) {
	for _, handler := range []string{"walk", "noop"} {
		for _, g := range asGuests {
			b.Run(handler+"/"+g.name, func(b *testing.B) {
				r, _ := newTestRuntime(b)
				p := mustLoad(b, r, PluginConfig{Name: "bench", Path: g.path, Deadline: 10 * time.Second}, nil)
				d := changed(handler)
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if err := p.Deliver(ctx, d); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
