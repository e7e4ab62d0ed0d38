package heksher

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/heksher-go/heksher/hekshertest"
)

// parallelLimit is a package-level setting, as programs declare them: it
// registers with whatever holds the main slot when the package starts.
var parallelLimit = func() *Setting[int64] {
	s, err := NewSetting("parallel_limit", Int(), []string{"user"}, -1)
	if err != nil {
		panic(err)
	}
	return s
}()

// Many parallel subtests patch the same package-level setting to different
// values, each with its own scoped stub, and each reads only its own value
// (and its own stub's defaults and rules), however the reads interleave.
// A read without the stub's context sees the setting as it was.
func TestScopedStub_ParallelSubtestsReadTheirOwnValues(t *testing.T) {
	t.Run("group", func(t *testing.T) {
		for i := range 32 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				stub := NewScopedStub()
				ctx := stub.Context(t.Context())
				want := int64(i)
				PatchValue(t, stub, parallelLimit, want)
				if i%2 == 0 {
					// Nested patch with rules and the stub's own default,
					// restored before the end of the subtest.
					mustNil(t, stub.SetDefaults(map[string]Default{"user": Static(fmt.Sprint("u", i))}))
					restore, err := SetRules(stub, parallelLimit,
						StubRule[int64]{Conditions: map[string]string{"user": fmt.Sprint("u", i)}, Value: 1000 + want})
					mustNil(t, err)
					for range 50 {
						if v := mustGetCtx(t, parallelLimit, nil, ctx); v != 1000+want {
							t.Fatalf("want %d, got %d", 1000+want, v)
						}
						runtime.Gosched()
					}
					restore()
				}
				for range 100 {
					if v := mustGetCtx(t, parallelLimit, map[string]string{"user": "x"}, ctx); v != want {
						t.Fatalf("want %d, got %d", want, v)
					}
					r, err := parallelLimit.LookupFor(ctx, NewFeatures(ctx, map[string]string{"user": "y"}))
					if err != nil || r.Value != want || r.Source != SourceRule {
						t.Fatalf("LookupFor = %+v, %v; want %d from the stub's rule", r, err, want)
					}
					runtime.Gosched()
				}
				if v := mustGetCtx(t, parallelLimit, map[string]string{"user": "x"}, context.Background()); v != -1 {
					t.Fatalf("a read without the stub's context got %d, want the local default -1", v)
				}
			})
		}
	})
	if n := parallelLimit.scopedN.Load(); n != 0 {
		t.Fatalf("%d scoped stubs still hold a value after every restore", n)
	}
	if sn := parallelLimit.state.Load(); sn != nil && sn.scoped {
		t.Fatal("reads still look for a scoped stub after every restore")
	}
	if err := NewScopedStub().SetAsMain(context.Background()); err == nil {
		t.Fatal("a scoped stub was made main")
	}
}

// Get's hot path stays allocation-free: with rules from a client, from a
// stub made main, and from a scoped stub, and for a setting a scoped stub
// patched but read without its context.
func TestGet_HotPathZeroAllocs(t *testing.T) {
	freshMain(t)
	features := []string{"user", "theme"}
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures(features...),
		hekshertest.WithSettings(hekshertest.Setting{Name: "hot", Type: "int", Default: 0, ConfigurableFeatures: features,
			Rules: []hekshertest.Rule{{Conditions: map[string]string{"user": "ann"}, Value: 2}}}))
	c, _ := newTestClient(t, srv.URL, features, WithHTTPClient(srv.Client()))
	mustNil(t, c.TrackContexts(map[string][]string{"user": {TrackAll}, "theme": {TrackAll}}))
	mustNil(t, c.SetDefaults(map[string]Default{"theme": Static("dark")}))
	served := mustSetting(t, "hot", Int(), features, 0, WithClient(c))
	mustNil(t, c.Start(ctxT(t)))
	t.Cleanup(func() { _ = c.Close() })

	scoped := NewScopedStub()
	sctx := scoped.Context(context.Background())
	patched := mustSetting(t, "patched", Int(), features, 0, WithClient(c))
	PatchValue(t, scoped, patched, 7)
	// The update below replaces patched's snapshot: the scoped stub's value
	// must still be found after it.

	mustNil(t, c.Reload(ctxT(t)))
	args := map[string]string{"user": "ann", "theme": "light"}
	bg := context.Background()
	f := NewFeatures(bg, args)
	for _, tc := range []struct {
		name string
		get  func() (int64, error)
		want int64
	}{
		{"client Get", func() (int64, error) { return served.Get(bg, args) }, 2},
		{"client GetFor", func() (int64, error) { return served.GetFor(bg, f) }, 2},
		{"client Lookup", func() (int64, error) { r, err := served.Lookup(bg, args); return r.Value, err }, 2},
		{"scoped stub Get", func() (int64, error) { return patched.Get(sctx, args) }, 7},
		{"scoped stub GetFor", func() (int64, error) { return patched.GetFor(sctx, f) }, 7},
		{"patched, read without the stub", func() (int64, error) { return patched.Get(bg, args) }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if v, err := tc.get(); err != nil || v != tc.want {
				t.Fatalf("value = %d, %v; want %d", v, err, tc.want)
			}
			if n := testing.AllocsPerRun(500, func() { _, _ = tc.get() }); n != 0 {
				t.Fatalf("%v allocations per read, want 0", n)
			}
		})
	}
}

func mustGetCtx[T any](t *testing.T, s *Setting[T], explicit map[string]string, ctx context.Context) T {
	t.Helper()
	v, err := s.Get(ctx, explicit)
	if err != nil {
		t.Fatalf("%s.Get(%v): %v", s.Name(), explicit, err)
	}
	return v
}
