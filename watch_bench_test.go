package heksher_test

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/internal/proptest"
	"github.com/heksher-go/heksher/internal/wire"
)

// BenchmarkPropagation measures how long a rule change made at the server
// takes to reach a client (its SettingChanged event), with the watch and
// with plain polling every 100 ms: one op is one change and its arrival;
// p50-ms and p99-ms are the latencies. With the watch, each change is made
// once the client's next watch has reached the server (the steady state);
// without, at a random point of the polling interval.
func BenchmarkPropagation(b *testing.B) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		opts     []heksher.Option
	}{
		{name: "watch", interval: time.Hour},
		{name: "poll_100ms", interval: 100 * time.Millisecond, opts: []heksher.Option{heksher.WithoutWatch()}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := hekshertest.NewServer(b, hekshertest.WithContextFeatures("user"),
				hekshertest.WithSettings(hekshertest.Setting{Name: "x", Type: "int", Default: 0, ConfigurableFeatures: []string{"user"}}))
			id, err := srv.AddRule("x", map[string]string{"user": "a"}, -1)
			if err != nil {
				b.Fatal(err)
			}
			heksher.ResetMainForTesting()
			b.Cleanup(heksher.ResetMainForTesting)
			if _, err := heksher.NewSetting("x", heksher.Int(), []string{"user"}, int64(0)); err != nil {
				b.Fatal(err)
			}
			probe := proptest.NewProbe("x")
			opts := append([]heksher.Option{heksher.WithHooks(probe), heksher.WithLogger(slog.New(slog.DiscardHandler))}, tc.opts...)
			c, err := heksher.NewClient(srv.URL, tc.interval, []string{"user"}, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if err := c.TrackContexts(map[string][]string{"user": {heksher.TrackAll}}); err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			if err := c.SetAsMain(ctx); err != nil {
				b.Fatal(err)
			}
			watching := tc.interval == time.Hour
			var lat []time.Duration
			i := 0
			for b.Loop() {
				b.StopTimer()
				if watching {
					waitWatch(b, srv)
				} else {
					// A change meets the poll at any point of its interval.
					time.Sleep(rand.N(tc.interval))
				}
				b.StartTimer()
				i++
				d, err := proptest.Measure(ctx, 1, func(context.Context, int) error { return srv.SetRuleValue(id, i) }, probe)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, d...)
			}
			b.ReportMetric(float64(proptest.Percentile(lat, 0.5))/1e6, "p50-ms")
			b.ReportMetric(float64(proptest.Percentile(lat, 0.99))/1e6, "p99-ms")
		})
	}
}

// waitWatch waits until a watch (a query asking to be held) reached srv
// since the last call.
func waitWatch(b *testing.B, srv *hekshertest.Server) {
	deadline := time.Now().Add(time.Minute)
	for {
		for _, r := range srv.Requests() {
			if r.Header.Get(wire.HeaderPrefer) != "" {
				srv.ResetRequests()
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("no watch reached the server")
		}
		time.Sleep(time.Millisecond)
	}
}
