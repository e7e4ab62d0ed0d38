package heksher

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
)

// cvClientBenchSetting is cvBenchSetting's shape served by a compatible
// server to a real client, so that Get pays the client's namespace checks
// (its Get-time warnings) as in production.
func cvClientBenchSetting(b *testing.B) *Setting[int64] {
	b.Helper()
	ResetMainForTesting()
	b.Cleanup(ResetMainForTesting)
	features := []string{"user", "trust", "theme"}
	var rules []hekshertest.Rule
	for i := range 20 {
		rules = append(rules, hekshertest.Rule{Conditions: map[string]string{"user": "u" + strconv.Itoa(i)}, Value: 1})
	}
	for i := range 15 {
		rules = append(rules, hekshertest.Rule{Conditions: map[string]string{"user": "u" + strconv.Itoa(i), "theme": "t" + strconv.Itoa(i)}, Value: 2})
	}
	for i := range 10 {
		rules = append(rules, hekshertest.Rule{Conditions: map[string]string{"trust": "r" + strconv.Itoa(i)}, Value: 3})
	}
	for i := range 5 {
		rules = append(rules, hekshertest.Rule{Conditions: map[string]string{"theme": "t" + strconv.Itoa(i)}, Value: 4})
	}
	srv := hekshertest.NewServer(b, hekshertest.WithContextFeatures(features...),
		hekshertest.WithSettings(hekshertest.Setting{Name: "bench", Type: "int", Default: 0, ConfigurableFeatures: features, Rules: rules}))
	c, err := NewClient(srv.URL, time.Hour, features, WithHTTPClient(srv.Client()), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	if err := c.TrackContexts(map[string][]string{"user": {TrackAll}, "trust": {TrackAll}, "theme": {TrackAll}}); err != nil {
		b.Fatal(err)
	}
	s, err := NewSetting("bench", Int(), features, -1)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.SetAsMain(context.Background()); err != nil {
		b.Fatal(err)
	}
	if v, err := s.Get(context.Background(), cvBenchArgs); err != nil || v != 2 {
		b.Fatalf("Get = %d, %v; want 2", v, err)
	}
	if rs := s.RuleSet(); len(rs.Rules) != 50 {
		b.Fatalf("%d rules received, want 50", len(rs.Rules))
	}
	return s
}

func BenchmarkSetting_Get_Client(b *testing.B) {
	s := cvClientBenchSetting(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = s.Get(ctx, cvBenchArgs)
	}
}

func BenchmarkSetting_GetFor_Client(b *testing.B) {
	s := cvClientBenchSetting(b)
	ctx := context.Background()
	f := NewFeatures(ctx, cvBenchArgs)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = s.GetFor(ctx, f)
	}
}

func BenchmarkSetting_Get_Client_Parallel(b *testing.B) {
	s := cvClientBenchSetting(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = s.Get(ctx, cvBenchArgs)
		}
	})
}
