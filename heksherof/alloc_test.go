package heksherof_test

import (
	"context"
	"testing"
	"time"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/heksherof"
	"github.com/heksher-go/heksher/hekshertest"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/memprovider"
)

// benchWorld is a client with one int setting and a rule for alice, and a
// provider over it.
func benchWorld(tb testing.TB, name string) (*heksherof.Provider, openfeature.FlattenedContext) {
	srv := hekshertest.NewServer(tb, hekshertest.WithContextFeatures("user", "theme"))
	p := heksherof.New()
	c, err := heksher.NewClient(srv.URL, time.Hour, []string{"user", "theme"}, heksher.WithHooks(p))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	_ = c.TrackContexts(map[string][]string{"user": {heksher.TrackAll}, "theme": {heksher.TrackAll}})
	p.UseClient(c)
	if _, err := heksher.NewSetting(name, heksher.Int(), []string{"user", "theme"}, 50, heksher.WithClient(c)); err != nil {
		tb.Fatal(err)
	}
	if _, err := heksher.NewSetting(name+"_on", heksher.Bool(), []string{"user"}, false, heksher.WithClient(c)); err != nil {
		tb.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	if _, err := srv.AddRule(name, map[string]string{"user": "alice", "theme": "dark"}, 7); err != nil {
		tb.Fatal(err)
	}
	if _, err := srv.AddRule(name+"_on", map[string]string{"user": "alice"}, true); err != nil {
		tb.Fatal(err)
	}
	if err := c.Reload(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return p, openfeature.FlattenedContext{"targetingKey": "x", "user": "alice", "theme": "dark", "other": 3}
}

// The provider allocates nothing for a typed setting and string
// attributes, whatever the source of the value.
func TestEvaluationAllocatesNothing(t *testing.T) {
	p, fc := benchWorld(t, "alloc_size")
	ctx := context.Background()
	if d := p.IntEvaluation(ctx, "alloc_size", 0, fc); d.Value != 7 || d.Variant == "" {
		t.Fatalf("rule: %+v", d)
	}
	bob := openfeature.FlattenedContext{"user": "bob", "theme": "dark"}
	cases := map[string]func(){
		"int rule":           func() { p.IntEvaluation(ctx, "alloc_size", 0, fc) },
		"int server default": func() { p.IntEvaluation(ctx, "alloc_size", 0, bob) },
		"float of int":       func() { p.FloatEvaluation(ctx, "alloc_size", 0, fc) },
		"bool rule":          func() { p.BooleanEvaluation(ctx, "alloc_size_on", false, fc) },
	}
	for name, f := range cases {
		if n := testing.AllocsPerRun(200, f); n != 0 {
			t.Errorf("%s: %v allocations per evaluation, want 0", name, n)
		}
	}
}

// BenchmarkThroughSDK compares, in one run, the same int flag evaluated
// through the go-sdk by this provider and by the go-sdk's in-memory
// provider.
func BenchmarkThroughSDK(b *testing.B) {
	p, _ := benchWorld(b, "bench_size")
	ec := openfeature.NewEvaluationContext("x", map[string]any{"user": "alice", "theme": "dark"})
	run := func(b *testing.B, fp openfeature.FeatureProvider) {
		iso := isolatedAPI(b, fp)
		of := iso.NewClient()
		ctx := context.Background()
		if v, _ := of.IntValue(ctx, "bench_size", 0, ec); v != 7 {
			b.Fatalf("value %d, want 7", v)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			_, _ = of.IntValue(ctx, "bench_size", 0, ec)
		}
	}
	b.Run("heksherof", func(b *testing.B) { run(b, p) })
	b.Run("memprovider", func(b *testing.B) {
		run(b, memprovider.NewInMemoryProvider(map[string]memprovider.InMemoryFlag{
			"bench_size": {Key: "bench_size", State: memprovider.Enabled, DefaultVariant: "seven",
				Variants: map[string]any{"seven": int64(7)}},
		}))
	})
	// paired alternates one evaluation by each provider, so that both see
	// the same load: the machine's drift cancels out of the ratio.
	b.Run("paired", func(b *testing.B) {
		ours := isolatedAPI(b, p).NewClient()
		mem := isolatedAPI(b, memprovider.NewInMemoryProvider(map[string]memprovider.InMemoryFlag{
			"bench_size": {Key: "bench_size", State: memprovider.Enabled, DefaultVariant: "seven",
				Variants: map[string]any{"seven": int64(7)}},
		})).NewClient()
		ctx := context.Background()
		const batch = 64
		var oursT, memT time.Duration
		for b.Loop() {
			t0 := time.Now()
			for range batch {
				_, _ = ours.IntValue(ctx, "bench_size", 0, ec)
			}
			t1 := time.Now()
			for range batch {
				_, _ = mem.IntValue(ctx, "bench_size", 0, ec)
			}
			oursT += t1.Sub(t0)
			memT += time.Since(t1)
		}
		n := float64(b.N * batch)
		b.ReportMetric(float64(oursT.Nanoseconds())/n, "heksherof-ns/eval")
		b.ReportMetric(float64(memT.Nanoseconds())/n, "memprovider-ns/eval")
		b.ReportMetric(oursT.Seconds()/memT.Seconds(), "ratio")
	})
	b.Run("provider-alone", func(b *testing.B) {
		fc := openfeature.FlattenedContext{"targetingKey": "x", "user": "alice", "theme": "dark"}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			p.IntEvaluation(ctx, "bench_size", 0, fc)
		}
	})
}

// A caller that asks for unknown flags again and again does not make the
// provider rebuild its table of flags each time.
func TestUnknownFlagsDoNotRebuildTheTable(t *testing.T) {
	p, fc := benchWorld(t, "unknown_size")
	ctx := context.Background()
	p.IntEvaluation(ctx, "no_such_flag", 0, fc)
	n := testing.AllocsPerRun(200, func() { p.IntEvaluation(ctx, "no_such_flag", 0, fc) })
	if n > 4 {
		t.Fatalf("%v allocations per unknown flag, want at most 4 (the error's message)", n)
	}
}
