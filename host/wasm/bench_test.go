package wasm

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/heksher-go/heksher/internal/abi"
)

var policies = []struct {
	name    string
	disable bool
}{{"preempt", false}, {"nopreempt", true}}

// BenchmarkLookupInGuest measures a guest->host setting lookup round trip as
// the guest sees it: the guest loops over lookups itself and times them with
// the real clock the host granted it. The figure is the ns/lookup metric;
// ns/op is per batch of 1000 lookups and includes the call into the guest.
func BenchmarkLookupInGuest(b *testing.B) {
	const batch = 1000
	for _, pol := range policies {
		b.Run(pol.name, func(b *testing.B) {
			r, _ := newTestRuntime(b)
			p := mustLoad(b, r, PluginConfig{Name: "bench", Path: guestWasm, DisablePreemption: pol.disable, Grants: Grants{Clock: true}}, nil)
			fn := p.inst.mod.ExportedFunction("bench_lookups")
			ctx, cancel := p.callContext(b.Context(), p.inst, time.Minute)
			defer cancel()
			stack := make([]uint64, 1)
			var total, n int64
			b.ReportAllocs()
			for b.Loop() {
				stack[0] = api.EncodeU32(batch)
				if err := fn.CallWithStack(ctx, stack); err != nil {
					b.Fatal(err)
				}
				ns := int64(stack[0])
				if ns < 0 {
					b.Fatal("guest lookup failed")
				}
				total += ns
				n += batch
			}
			b.ReportMetric(float64(total)/float64(n), "ns/lookup")
		})
	}
}

// BenchmarkDeliverSettingChanged measures host->guest dispatch of a typical
// setting-changed event (two rule sets, three rules, conditions, a
// default), encoded by the host and fully decoded by the SDK in the guest.
// "preempt" delivers with a deadline, "nopreempt" without.
func BenchmarkDeliverSettingChanged(b *testing.B) {
	for _, pol := range policies {
		for _, handler := range []string{"walk", "noop"} {
			b.Run(pol.name+"/"+handler, func(b *testing.B) {
				r, _ := newTestRuntime(b)
				p := mustLoad(b, r, PluginConfig{Name: "bench", Path: guestWasm, DisablePreemption: pol.disable, Deadline: 10 * time.Second}, nil) // long: a stall on a loaded machine must not fail the run
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

// BenchmarkHostGetSetting measures the host function alone, called
// directly: decoding, interning, the Settings lookup and the copy.
func BenchmarkHostGetSetting(b *testing.B) {
	r, _ := newTestRuntime(b)
	p := mustLoad(b, r, PluginConfig{Name: "bench", Path: loopWat}, nil)
	mod := p.inst.mod
	ctx := context.WithValue(context.Background(), instKey{}, p.inst)
	c := abi.AppendContext(nil, "env", "prod")
	mod.Memory().Write(100, []byte("answer"))
	mod.Memory().Write(200, c)
	stack := make([]uint64, 6)
	b.ReportAllocs()
	for b.Loop() {
		stack[0], stack[1], stack[2], stack[3], stack[4], stack[5] = 100, 6, 200, uint64(len(c)), 400, 64
		hostGetSetting(ctx, mod, stack)
	}
}

// BenchmarkLoadWarmCache measures loading the test guest (about 3.4 MB) in a
// new Runtime whose on-disk compilation cache is warm, as after a restart of
// the host: reading the cache, instantiating, _initialize and heksher_init
// ("load"). In the same run, for a figure that the machine's load affects
// alike, "wazero" is what wazero alone costs for the same module: a new
// wazero runtime and cache object over the same directory and CompileModule
// (decoding, validation, reading the cached code), then Close.
func BenchmarkLoadWarmCache(b *testing.B) {
	dir := sharedCacheDir(b)
	for _, m := range benchModules {
		code, err := os.ReadFile(m.path)
		if err != nil {
			b.Fatal(err)
		}
		load := func(b *testing.B) {
			r, err := NewRuntime(context.Background(), RuntimeConfig{CacheDir: dir})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r.Load(context.Background(), PluginConfig{Name: "bench", Path: m.path}, newSettings()); err != nil {
				b.Fatal(err)
			}
			if err := r.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		load(b) // warm the cache
		b.Run(m.name+"/load", func(b *testing.B) {
			b.ReportMetric(float64(len(code))/1e6, "MB-module")
			for b.Loop() {
				load(b)
			}
		})
		b.Run(m.name+"/wazero", func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				cache, err := wazero.NewCompilationCacheWithDir(dir)
				if err != nil {
					b.Fatal(err)
				}
				rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCompilationCache(cache).
					WithCloseOnContextDone(true).WithMemoryLimitPages(DefaultMemoryLimitPages))
				if _, err := rt.CompileModule(ctx, code); err != nil {
					b.Fatal(err)
				}
				_ = rt.Close(ctx)
				_ = cache.Close(ctx)
			}
		})
	}
}

// benchModules are the Go guests the load benchmarks measure: the test
// guest (the SDK and every test behaviour) and a plain example plugin.
var benchModules = []struct{ name, path string }{
	{"testguest", guestWasm},
	{"example", changesWasm},
}

// BenchmarkInstanceMemory loads 16 instances of the test guest and reports
// the Go heap and the process RSS they add, per instance, and their linear
// memory.
func BenchmarkInstanceMemory(b *testing.B) {
	const n = 16
	for b.Loop() {
		r, err := NewRuntime(context.Background(), RuntimeConfig{CacheDir: sharedCacheDir(b), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		// One plugin first, so the compiled module is not counted.
		if _, err := r.Load(context.Background(), PluginConfig{Name: "base", Path: guestWasm}, newSettings()); err != nil {
			b.Fatal(err)
		}
		heap0, rss0 := memNow()
		var pages uint32
		for i := range n {
			p, err := r.Load(context.Background(), PluginConfig{Name: fmt.Sprint("p", i), Path: guestWasm}, newSettings())
			if err != nil {
				b.Fatal(err)
			}
			pages += p.memPages.Load()
		}
		heap1, rss1 := memNow()
		b.ReportMetric(float64(heap1-heap0)/n/(1<<20), "MiB-heap/instance")
		b.ReportMetric(float64(rss1-rss0)/n/(1<<20), "MiB-rss/instance")
		b.ReportMetric(float64(pages)/n*64/1024, "MiB-linear/instance")
		if err := r.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// memNow returns the Go heap in use and the process's resident set. It
// first returns freed memory to the OS, or pages freed by an earlier
// iteration would be reused without showing in the resident set.
func memNow() (heap, rss int64) {
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pagesRSS, _ := strconv.ParseInt(f[1], 10, 64)
			rss = pagesRSS * int64(os.Getpagesize())
		}
	}
	return int64(ms.HeapInuse), rss
}

// BenchmarkDecodeInGuest measures the SDK's decoding of the typical
// setting-changed event inside the guest, timed by the guest (ns/decode).
func BenchmarkDecodeInGuest(b *testing.B) {
	const batch = 1000
	r, _ := newTestRuntime(b)
	p := mustLoad(b, r, PluginConfig{Name: "bench", Path: guestWasm, DisablePreemption: true, Grants: Grants{Clock: true}}, nil)
	inst := p.inst
	payload, err := abi.AppendDelivery(nil, changed("noop"))
	if err != nil {
		b.Fatal(err)
	}
	inst.mod.Memory().Write(inst.scratchPtr, payload)
	fn := inst.mod.ExportedFunction("bench_decode")
	stack := make([]uint64, 3)
	var total int64
	for b.Loop() {
		stack[0], stack[1], stack[2] = uint64(inst.scratchPtr), uint64(len(payload)), batch
		if err := fn.CallWithStack(context.Background(), stack); err != nil {
			b.Fatal(err)
		}
		total += int64(stack[0])
	}
	b.ReportMetric(float64(total)/float64(b.N)/batch, "ns/decode")
}

// BenchmarkCallFloor measures a call into a Go guest export that does
// nothing, with a hook's signature: the floor under every delivery.
func BenchmarkCallFloor(b *testing.B) {
	for _, pol := range policies {
		b.Run(pol.name, func(b *testing.B) {
			r, _ := newTestRuntime(b)
			p := mustLoad(b, r, PluginConfig{Name: "bench", Path: guestWasm, DisablePreemption: pol.disable}, nil)
			fn := p.inst.mod.ExportedFunction("bench_hook_floor")
			stack := make([]uint64, 2)
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			defer cancel()
			b.ReportAllocs()
			for b.Loop() {
				stack[0], stack[1] = uint64(p.inst.scratchPtr), 0
				if err := fn.CallWithStack(ctx, stack); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDeliverWAT delivers a setting-changed event to the WAT example
// plugin, which has no language runtime: its handler reads the setting name,
// looks a setting up and logs a line (to a discarding logger).
func BenchmarkDeliverWAT(b *testing.B) {
	for _, pol := range policies {
		b.Run(pol.name, func(b *testing.B) {
			r, err := NewRuntime(context.Background(), RuntimeConfig{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close(context.Background())
			p := mustLoad(b, r, PluginConfig{Name: "bench", Path: watPluginWasm, DisablePreemption: pol.disable, Deadline: 10 * time.Second}, nil)
			d := changed("motd")
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Deliver(context.Background(), d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
