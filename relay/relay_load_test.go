package relay_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/internal/httpguard"
	"github.com/heksher-go/heksher/internal/loadgen"
	"github.com/heksher-go/heksher/internal/proptest"
	"github.com/heksher-go/heksher/internal/server"
	"github.com/heksher-go/heksher/relay"
)

// The load a relay takes off its upstream, measured with package loadgen:
// simulated downstream clients on loopback, each polling its own query with
// its own ETag. TestRelay_OneUpstreamQueryPerInterval runs in every test
// run; TestRelayLoad takes about two minutes and wants a quiet machine, so
// it runs only when HEKSHER_RELAY_LOAD is set (BENCHMARKS.md, "A relay
// under load"):
//
//	HEKSHER_RELAY_LOAD=1 go test -count=1 -run TestRelayLoad -v ./relay/

// fleetFeatures are the context features of the fleet's data set.
var fleetFeatures = []string{"user", "theme", "env"}

// fleetSeed is n settings × 5 rules: conditions on one or two of the
// features, as in the server's benchmarks.
func fleetSeed(n int) []hekshertest.Setting {
	out := make([]hekshertest.Setting, n)
	for i := range out {
		s := hekshertest.Setting{Name: fmt.Sprintf("setting_%06d", i), Type: "int", Default: 0,
			ConfigurableFeatures: fleetFeatures}
		for k := range 5 {
			cond := map[string]string{"user": fmt.Sprintf("u%d", (i+k)%50)}
			if k%2 == 1 {
				cond["theme"] = fmt.Sprintf("t%d", k)
			}
			if k == 4 {
				cond = map[string]string{"env": "prod"}
			}
			s.Rules = append(s.Rules, hekshertest.Rule{Conditions: cond, Value: i*10 + k})
		}
		out[i] = s
	}
	return out
}

// fleetQueries returns the query URLs under base of clients clients, each
// naming a list of per settings among nSettings, with the context filters
// a Go client tracking every user and theme sends. There are lists distinct
// lists (client i has list i%lists; list j takes every stride-th setting
// from 13j on, stride 1 + j%7), so lists = clients gives every client a
// list of its own, and fewer lists model the nodes of one service asking
// the same.
func fleetQueries(base string, clients, lists, nSettings, per int) []string {
	out := make([]string, clients)
	for c := range out {
		i := c % lists
		stride := 1 + i%7
		names := make([]string, per)
		for k := range names {
			names[k] = fmt.Sprintf("setting_%06d", (i*13+k*stride)%nSettings)
		}
		out[c] = base + "/api/v1/query?settings=" + url.QueryEscape(strings.Join(names, ",")) +
			"&context_filters=" + url.QueryEscape("user:*,theme:*")
	}
	return out
}

// queryCounter counts the GET /api/v1/query requests a server receives.
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) intercept(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if r.Method == http.MethodGet && r.URL.Path == "/api/v1/query" {
		c.n.Add(1)
	}
	next.ServeHTTP(w, r)
}

// startRelay starts a relay of upstream with this polling interval, waits
// for its first snapshot and serves it on a loopback port until the test
// ends.
func startRelay(t testing.TB, upstream string, opts relay.Options) *relay.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts.Upstream = upstream
	r, err := relay.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	if err := r.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err := r.Listen(ctx, relay.ListenOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	return srv
}

// serveLoopback serves h on a loopback port, behind the same guard and
// limits as every listener of the module, until the test ends, and
// returns its base URL.
func serveLoopback(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	guard, err := httpguard.Guard(ln.Addr().String(), "", "load test")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: guard(h)}
	httpguard.Limits{}.Apply(hs)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = hs.Close()
		<-done
	})
	return "http://" + ln.Addr().String()
}

// TestRelay_OneUpstreamQueryPerInterval: clients polling a relay cost its
// upstream one query per interval, however many they are; every poll is
// answered.
func TestRelay_OneUpstreamQueryPerInterval(t *testing.T) {
	const (
		clients   = 20
		intervals = 4
		interval  = 250 * time.Millisecond
	)
	up := hekshertest.NewServer(t, hekshertest.WithContextFeatures(fleetFeatures...),
		hekshertest.WithSettings(fleetSeed(100)...), hekshertest.WithoutWatch())
	var count queryCounter
	up.Intercept(count.intercept)
	rs := startRelay(t, up.URL, relay.Options{Interval: interval})
	before := count.n.Load()
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		URLs:     fleetQueries(rs.URL(), clients, clients, 100, 20),
		Interval: interval,
		Duration: intervals * interval,
		Workers:  4,
	})
	if err != nil {
		t.Fatal(err)
	}
	upstream := count.n.Load() - before
	t.Logf("%d clients, %d intervals: %v; upstream queries %d", clients, intervals, res, upstream)
	if res.Errors != 0 || res.Requests()+res.Skipped != clients*intervals {
		t.Errorf("downstream polls: %v, want %d answered", res, clients*intervals)
	}
	if res.Status[http.StatusNotModified] == 0 {
		t.Errorf("no poll answered 304: %v", res)
	}
	// One query per interval, plus the one in flight at each end of the
	// window; never one per client.
	if upstream > intervals+2 {
		t.Errorf("the upstream saw %d queries in %d intervals with %d clients polling; want at most %d",
			upstream, intervals, clients, intervals+2)
	}
}

// TestRelayLoad measures a relay under a fleet's load (see the top of the
// file). Each case logs one row; the last log line is the table.
func TestRelayLoad(t *testing.T) {
	if os.Getenv("HEKSHER_RELAY_LOAD") == "" {
		t.Skip("set HEKSHER_RELAY_LOAD=1 to measure a relay under 1,000 polling clients")
	}
	var rows []string
	row := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		t.Log(line)
		rows = append(rows, line)
	}
	t.Run("1000 clients polling every second", func(t *testing.T) {
		const (
			clients   = 1000
			nSettings = 1000
			per       = 50
			interval  = time.Second
			window    = 20 * time.Second
		)
		seed := fleetSeed(nSettings)
		up := hekshertest.NewServer(t, hekshertest.WithContextFeatures(fleetFeatures...),
			hekshertest.WithSettings(seed...), hekshertest.WithoutWatch())
		var count queryCounter
		up.Intercept(count.intercept)
		rs := startRelay(t, up.URL, relay.Options{Interval: interval})

		eng, err := server.New(server.Options{ContextFeatures: fleetFeatures})
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.ApplySeed(context.Background(), &server.Seed{Settings: seed}); err != nil {
			t.Fatal(err)
		}
		direct := serveLoopback(t, eng.Handler())
		// The minimal 304 handler under the same load is the floor that the
		// machine and the generator leave: its p99 is the load's, not a
		// server's.
		minimal := serveMinimal304(t)

		for _, run := range []struct {
			name, base string
			lists      int
		}{
			{"relay", rs.URL(), clients}, {"internal/server", direct, clients}, {"minimal 304 handler", minimal, clients},
			{"relay", rs.URL(), 100}, {"internal/server", direct, 100},
		} {
			cfg := loadgen.Config{
				URLs:     fleetQueries(run.base, clients, run.lists, nSettings, per),
				Interval: interval, Duration: interval, Workers: 64,
			}
			// One interval of polls first, not measured: the clients of a
			// fleet have been polling for a while, so their answers are
			// rendered and cached; the measurement is the steady state.
			if _, err := loadgen.Run(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			cfg.Duration = window
			l0 := loadavg()
			before := count.n.Load()
			res, err := loadgen.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			upstream := count.n.Load() - before
			queries := "—"
			if run.name == "relay" {
				queries = fmt.Sprint(upstream)
			}
			row("| %d clients (%d distinct lists) × %d of %d settings every %v, %v | %s | %d | %v | %v | %v | %d | %s | %s → %s |",
				clients, run.lists, per, nSettings, interval, window, run.name, res.Requests(),
				res.Percentile(0.5).Round(time.Microsecond), res.Percentile(0.99).Round(time.Microsecond),
				res.Max().Round(time.Microsecond), res.Errors, queries, l0, loadavg())
			t.Logf("%s: %v", run.name, res)
			if run.name == "relay" {
				if upstream > int64(window/interval)+2 {
					t.Errorf("the upstream saw %d queries in %v", upstream, window)
				}
				if p99 := res.Percentile(0.99); p99 >= 10*time.Millisecond {
					t.Errorf("the relay's p99 is %v, want < 10ms", p99)
				}
			}
		}
	})
	t.Run("closed loop: the relay's 304 against a minimal 304 handler", func(t *testing.T) {
		const (
			clients   = 100
			nSettings = 1000
			per       = 50
			workers   = 4
			window    = 5 * time.Second
		)
		up := hekshertest.NewServer(t, hekshertest.WithContextFeatures(fleetFeatures...),
			hekshertest.WithSettings(fleetSeed(nSettings)...), hekshertest.WithoutWatch())
		rs := startRelay(t, up.URL, relay.Options{Interval: time.Second})
		minimal := serveMinimal304(t)
		rate := map[string][]float64{}
		for round := range 2 {
			for _, target := range []struct{ name, base string }{{"minimal 304 handler", minimal}, {"relay", rs.URL()}} {
				l0 := loadavg()
				res, err := loadgen.Run(context.Background(), loadgen.Config{
					URLs: fleetQueries(target.base, clients, clients, nSettings, per), Duration: window, Workers: workers,
				})
				if err != nil {
					t.Fatal(err)
				}
				rate[target.name] = append(rate[target.name], res.Rate())
				row("| closed loop, %d clients × %d settings, %d workers, %v (round %d) | %s | %d (%.0f/s) | %v | %v | %v | %d | — | %s → %s |",
					clients, per, workers, window, round+1, target.name, res.Requests(), res.Rate(),
					res.Percentile(0.5).Round(time.Microsecond), res.Percentile(0.99).Round(time.Microsecond),
					res.Max().Round(time.Microsecond), res.Errors, l0, loadavg())
			}
		}
		for i := range rate["relay"] {
			ratio := rate["relay"][i] / rate["minimal 304 handler"][i]
			row("| closed loop, round %d | relay / minimal | %.2f | | | | | | |", i+1, ratio)
			if ratio < 0.5 {
				t.Errorf("round %d: the relay's 304 path reached %.2f of a minimal 304 handler's rate, want ≥ 0.5", i+1, ratio)
			}
		}
	})
	t.Run("propagation under two relay tiers", func(t *testing.T) {
		for _, watch := range []bool{true, false} {
			name := "without watch"
			changes, interval := 12, time.Second
			if watch {
				name, changes = "with watch", 100
			}
			t.Run(name, func(t *testing.T) {
				l0 := loadavg()
				lat := propagation(t, watch, interval, changes)
				row("| propagation, 2 relay tiers, interval %v, %s | Go client | %d changes | %v | %v | %v | — | — | %s → %s |",
					interval, name, len(lat), pct(lat, 0.5), pct(lat, 0.99), pct(lat, 1), l0, loadavg())
				if watch && pct(lat, 0.99) >= 100*time.Millisecond {
					t.Errorf("with watch, a change took %v (p99) to reach the client, want < 100ms", pct(lat, 0.99))
				}
			})
		}
	})
	t.Logf("\n| load | target | polls answered | p50 | p99 | max | errors | upstream queries | load average |\n|---|---|---|---|---|---|---|---|---|\n%s",
		strings.Join(rows, "\n"))
}

// propagation changes a rule's value on a service changes times and
// measures, for each, the time from the write until a Go client under two
// relays (client → node relay → regional relay → service) has it (its
// SettingChanged event, package internal/proptest). With watch, the service
// offers the watch and the relays and the client long-poll; without, nobody
// offers it and everyone polls every interval. Changes are a random
// 150–250 ms apart with watch (the client starts at most one watch per
// 100 ms after a change, so changes closer than that are batched; each
// change here is measured alone), and a random part of an interval apart
// without, so that they fall at every phase of the polls.
func propagation(t *testing.T, watch bool, interval time.Duration, changes int) []time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	opts := []hekshertest.Option{hekshertest.WithContextFeatures(fleetFeatures...),
		hekshertest.WithSettings(hekshertest.Setting{Name: "motd", Type: "int", Default: 0, ConfigurableFeatures: fleetFeatures})}
	ropts := relay.Options{Interval: interval}
	probe := proptest.NewProbe("motd")
	copts := []heksher.Option{heksher.WithLogger(slog.New(slog.DiscardHandler)), heksher.WithHooks(probe)}
	if !watch {
		opts = append(opts, hekshertest.WithoutWatch())
		ropts.WatchWait, ropts.DownstreamWatch = -1, -1
		copts = append(copts, heksher.WithoutWatch())
	}
	up := hekshertest.NewServer(t, opts...)
	id, err := up.AddRule("motd", map[string]string{"user": "alice"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	regional := startRelay(t, up.URL, ropts)
	node := startRelay(t, regional.URL(), ropts)
	c, err := heksher.NewClient(node.URL(), interval, fleetFeatures, copts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.TrackContexts(map[string][]string{"user": {heksher.TrackAll}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := c.Track(ctx, "motd", "")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		r, err := s.LookupJSON(ctx, map[string]string{"user": "alice", "theme": "dark", "env": "prod"})
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Value) == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client reads %s, want the rule's 0", r.Value)
		}
		time.Sleep(time.Millisecond)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, changes)
	for k := 1; k <= changes; k++ {
		gap := time.Duration(rng.Int64N(int64(interval)))
		if watch {
			gap = 150*time.Millisecond + time.Duration(rng.Int64N(int64(100*time.Millisecond)))
		}
		time.Sleep(gap)
		d, err := proptest.Measure(ctx, 1, func(context.Context, int) error { return up.SetRuleValue(id, k) }, probe)
		if err != nil {
			t.Fatal(err)
		}
		lat = append(lat, d...)
	}
	slices.Sort(lat)
	return lat
}

// pct returns the nearest-rank percentile p (0 to 1) of sorted.
func pct(sorted []time.Duration, p float64) time.Duration {
	return sorted[int(p*float64(len(sorted)-1))].Round(10 * time.Microsecond)
}

// serveMinimal304 serves, on a plain net/http server on a loopback port,
// the least a server can do for a poll: a constant ETag, and 304 when
// If-None-Match names it (200 with "{}" otherwise).
func serveMinimal304(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const etag = `"0123456789abcdef0123456789abcdef"`
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte("{}"))
	})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = hs.Close()
		<-done
	})
	return "http://" + ln.Addr().String()
}

// loadavg returns the one-minute load average.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	one, _, _ := strings.Cut(string(b), " ")
	return one
}
