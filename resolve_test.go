package heksher

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/heksher-go/heksher/internal/wire"
)

// The worked resolution examples (B64) through Setting.Get: A–D, E (B64 three-
// feature tie-break) and F (B64 lazy missing-feature error).
func TestResolve_Examples(t *testing.T) {
	stub := cvStubMain(t)
	s := cvMust(NewSetting("S", Str(), []string{"user", "trust", "theme"}, "plain"))(t)
	cvApply(t, s, stub, nil, "",
		cvRule(1, `"red"`, "user", "admin"),
		cvRule(2, `"black"`, "theme", "dark"),
		cvRule(3, `"gold"`, "user", "admin", "trust", "full"),
		cvRule(4, `"silver"`, "trust", "full"),
		cvRule(5, `"crimson"`, "user", "admin", "theme", "dark"))
	ns := func(u, tr, th string) map[string]string {
		return map[string]string{"user": u, "trust": tr, "theme": th}
	}
	cvCheckGets(t, s, []cvGetCase[string]{
		{args: ns("admin", "full", "dark"), want: "crimson"}, // A
		{args: ns("admin", "full", "light"), want: "gold"},   // B
		{args: ns("guest", "none", "light"), want: "plain"},  // C
		{args: ns("guest", "full", "dark"), want: "black"},   // D
	})
	// The matching rule of each example, not only its value (B64).
	for _, lc := range []struct {
		name   string
		ns     map[string]string
		ruleID int64
		source Source
	}{
		{"A R5", ns("admin", "full", "dark"), 5, SourceRule},
		{"B R3", ns("admin", "full", "light"), 3, SourceRule},
		{"C fallback", ns("guest", "none", "light"), 0, SourceLocalDefault},
		{"D R2", ns("guest", "full", "dark"), 2, SourceRule},
	} {
		r := cvMust(s.Lookup(context.Background(), lc.ns))(t)
		if r.Source != lc.source || (lc.source == SourceRule && r.RuleID != lc.ruleID) {
			t.Errorf("%s: Lookup = %+v", lc.name, r)
		}
	}

	// B64, example E.
	e := cvMust(NewSetting("E", Int(), []string{"user", "trust", "theme"}, 0))(t)
	cvApply(t, e, stub, nil, "",
		cvRule(1, "1", "user", "u1", "theme", "t1"),
		cvRule(2, "2", "trust", "r1", "theme", "t1"),
		cvRule(3, "3", "theme", "t1"))
	cvCheckGets(t, e, []cvGetCase[int64]{
		{args: ns("u1", "r1", "t1"), want: 1},
		{args: ns("u2", "r1", "t1"), want: 2},
		{args: ns("u2", "r2", "t1"), want: 3},
	})

	// B64, example F.
	flog, flogs := cvNewLogger()
	f := cvMust(NewSetting("T", Int(), []string{"user", "theme"}, 7, WithSettingLogger(flog)))(t)
	cvCheckGets(t, f, []cvGetCase[int64]{{want: 7}}) // before any rule set: no error
	if flogs.count(slog.LevelInfo, `.+ never retrieved .+`) != 1 || flogs.total() != 1 {
		t.Errorf("F: Get before any rule set must log only the INFO \"never retrieved\" (%d records)", flogs.total())
	}
	cvApply(t, f, stub, nil, "", cvRule(1, "1", "user", "admin", "theme", "dark"))
	cvCheckGets(t, f, []cvGetCase[int64]{
		{args: map[string]string{"user": "bob"}, want: 7},
		{args: map[string]string{"user": "admin"}, missing: true},
		{args: map[string]string{"theme": "dark"}, missing: true},
	})
	_, err := f.Get(context.Background(), map[string]string{"user": "admin", "theme": "dark", "trust": "x"})
	if !errors.Is(err, ErrNotConfigurable) {
		t.Errorf("F: trust is not configurable: %v", err)
	}
	_, err = f.Get(context.Background(), map[string]string{"user": "admin"})
	if want := "heksher: setting T: configurable context feature theme is missing from both the default namespace and arguments"; err == nil || err.Error() != want {
		t.Errorf("F: error text = %v", err)
	}
}

// Example G: static and dynamic defaults, explicit values beat both.
func TestResolve_Defaults(t *testing.T) {
	stub := cvStubMain(t)
	if err := stub.SetDefaults(map[string]Default{
		"user": Static("admin"),
		"theme": FromContext(func(ctx context.Context) (string, bool) {
			v, ok := ctx.Value(cvCtxKey("theme")).(string)
			return v, ok
		}),
	}); err != nil {
		t.Fatal(err)
	}
	u := cvMust(NewSetting("U", Str(), []string{"user", "theme"}, ""))(t)
	cvApply(t, u, stub, nil, "",
		cvRule(1, `"A"`, "user", "admin", "theme", "dark"),
		cvRule(2, `"B"`, "user", "bob", "theme", "dark"),
		cvRule(3, `"C"`, "user", "admin"))
	dark := context.WithValue(context.Background(), cvCtxKey("theme"), "dark")
	tests := []struct {
		name     string
		ctx      context.Context
		explicit map[string]string
		want     string
		missing  bool
	}{
		{"dynamic theme", dark, nil, "A", false},
		{"explicit beats static", dark, map[string]string{"user": "bob"}, "B", false},
		{"no theme anywhere", context.Background(), nil, "", true},
		{"explicit beats dynamic", dark, map[string]string{"theme": "light"}, "C", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, get := range []func() (string, error){
				func() (string, error) { return u.Get(tc.ctx, tc.explicit) },
				func() (string, error) { return u.GetFor(tc.ctx, NewFeatures(tc.ctx, tc.explicit)) },
			} {
				got, err := get()
				if tc.missing {
					if !errors.Is(err, ErrMissingContextFeature) {
						t.Errorf("got %q, %v; want a missing-feature error", got, err)
					}
					continue
				}
				if err != nil || got != tc.want {
					t.Errorf("got %q, %v; want %q", got, err, tc.want)
				}
			}
		})
	}
}

// Get is lock-free and consistent while updates swap rule sets: every read
// sees one whole rule set (rule value and default from the same answer).
func TestResolve_ConcurrentUpdates(t *testing.T) {
	stub := cvStubMain(t)
	s := cvMust(NewSetting("n", Int(), []string{"a"}, -1))(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				x := cvMust(s.Lookup(ctx, map[string]string{"a": "x"}))(t)
				y := cvMust(s.Lookup(ctx, map[string]string{"a": "nomatch"}))(t)
				if x.Source == SourceRule && x.Value%2 != 0 || y.Source == SourceServerDefault && y.Value%2 != 1 {
					t.Errorf("inconsistent read: %+v %+v", x, y)
					return
				}
			}
		}()
	}
	for i := range 300 {
		v := int64(2 * i)
		cvApply(t, s, stub, nil, strconv.FormatInt(v+1, 10), cvRule(1, strconv.FormatInt(v, 10), "a", "x"))
	}
	close(stop)
	wg.Wait()
}

// cvBenchSetting is the benchmark shape: 3 features, 50 rules (20 on user,
// 15 on user+theme, 10 on trust, 5 on theme), supplied by a stub.
func cvBenchSetting(tb testing.TB) *Setting[int64] {
	tb.Helper()
	stub := NewStubClient()
	s, err := newSetting("bench", Int(), []string{"user", "trust", "theme"}, int64(-1), settingConfig{version: "1.0"})
	if err != nil {
		tb.Fatal(err)
	}
	var rules []wire.QueryRule
	id := int64(0)
	add := func(v string, kv ...string) {
		id++
		rules = append(rules, cvRule(id, v, kv...))
	}
	for i := range 20 {
		add("1", "user", "u"+strconv.Itoa(i))
	}
	for i := range 15 {
		add("2", "user", "u"+strconv.Itoa(i), "theme", "t"+strconv.Itoa(i))
	}
	for i := range 10 {
		add("3", "trust", "r"+strconv.Itoa(i))
	}
	for i := range 5 {
		add("4", "theme", "t"+strconv.Itoa(i))
	}
	u, err := s.prepareUpdate(stub, rules, []byte("0"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	u.commit()
	return s
}

var cvBenchArgs = map[string]string{"user": "u3", "trust": "r3", "theme": "t3"}

func TestResolve_ZeroAllocs(t *testing.T) {
	s := cvBenchSetting(t)
	ctx := context.Background()
	f := NewFeatures(ctx, cvBenchArgs)
	tests := []struct {
		name string
		get  func() (int64, error)
	}{
		{"GetFor", func() (int64, error) { return s.GetFor(ctx, f) }},
		{"Get", func() (int64, error) { return s.Get(ctx, cvBenchArgs) }},
		{"Lookup", func() (int64, error) { r, err := s.Lookup(ctx, cvBenchArgs); return r.Value, err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if v, err := tc.get(); v != 2 || err != nil {
				t.Fatalf("value = %d, %v; want 2", v, err)
			}
			if n := testing.AllocsPerRun(200, func() { _, _ = tc.get() }); n != 0 {
				t.Errorf("%v allocations per call, want 0", n)
			}
		})
	}
}

func BenchmarkSetting_GetFor(b *testing.B) {
	s := cvBenchSetting(b)
	ctx := context.Background()
	f := NewFeatures(ctx, cvBenchArgs)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = s.GetFor(ctx, f)
	}
}

func BenchmarkSetting_Get(b *testing.B) {
	s := cvBenchSetting(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = s.Get(ctx, cvBenchArgs)
	}
}

func BenchmarkSetting_GetFor_Parallel(b *testing.B) {
	s := cvBenchSetting(b)
	ctx := context.Background()
	f := NewFeatures(ctx, cvBenchArgs)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = s.GetFor(ctx, f)
		}
	})
}

func BenchmarkSetting_Get_Parallel(b *testing.B) {
	s := cvBenchSetting(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = s.Get(ctx, cvBenchArgs)
		}
	})
}

// BenchmarkNewFeatures is the once-per-request cost of the fast path.
func BenchmarkNewFeatures(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = NewFeatures(ctx, cvBenchArgs)
	}
}

// More configurable features than Get keeps on the stack still resolve.
func TestResolve_ManyFeatures(t *testing.T) {
	stub := cvStubMain(t)
	var features []string
	args := map[string]string{}
	for i := range 12 {
		f := "f" + strconv.Itoa(i)
		features = append(features, f)
		args[f] = "v"
	}
	s := cvMust(NewSetting("wide", Int(), features, -1))(t)
	cvApply(t, s, stub, nil, "", cvRule(1, "1", "f0", "v"), cvRule(2, "2", "f11", "v"), cvRule(3, "3", "f0", "v", "f11", "v"))
	ctx := context.Background()
	if v := cvMust(s.Get(ctx, args))(t); v != 3 {
		t.Errorf("Get = %d, want 3", v)
	}
	if v := cvMust(s.GetFor(ctx, NewFeatures(ctx, args)))(t); v != 3 {
		t.Errorf("GetFor = %d, want 3", v)
	}
	delete(args, "f11")
	if _, err := s.Get(ctx, args); !errors.Is(err, ErrMissingContextFeature) {
		t.Errorf("Get without f11: %v", err)
	}
}

// Get, GetFor and Lookup agree on random rule sets and requests.
func TestResolve_GetForAgreesWithGet(t *testing.T) {
	stub := cvStubMain(t)
	rng := rand.New(rand.NewPCG(5, 6))
	features := []string{"f0", "f1", "f2"}
	vals := []string{"", "x", "y"}
	ctx := context.Background()
	for iter := range 200 {
		s := cvMust(NewSetting("p"+strconv.Itoa(iter), Int(), features, -1))(t)
		var rules []wire.QueryRule
		for i := range rng.IntN(8) {
			var kv []string
			for _, f := range features {
				if rng.IntN(2) == 0 {
					kv = append(kv, f, vals[rng.IntN(len(vals))])
				}
			}
			rules = append(rules, cvRule(int64(i+1), strconv.Itoa(i), kv...))
		}
		cvApply(t, s, stub, nil, "100", rules...)
		for range 10 {
			args := map[string]string{}
			for _, f := range features {
				if rng.IntN(5) != 0 {
					args[f] = vals[rng.IntN(len(vals))]
				}
			}
			v1, err1 := s.Get(ctx, args)
			v2, err2 := s.GetFor(ctx, NewFeatures(ctx, args))
			r, err3 := s.Lookup(ctx, args)
			if v1 != v2 || (err1 == nil) != (err2 == nil) || (err1 == nil) != (err3 == nil) || (err1 == nil && r.Value != v1) {
				t.Fatalf("rules %v args %v: Get %d %v, GetFor %d %v, Lookup %+v %v", rules, args, v1, err1, v2, err2, r, err3)
			}
			if err1 == nil && r.Source == SourceRule && strconv.Itoa(int(r.RuleID-1)) != strconv.FormatInt(r.Value, 10) {
				t.Fatalf("Lookup names rule %d for value %d", r.RuleID, r.Value)
			}
		}
	}
}
