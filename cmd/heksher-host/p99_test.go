package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heksher-go/heksher/host/admin"
)

// The lookup API's latency while one plugin misbehaves, against the same
// host with no faulty plugin: BENCHMARKS.md, "Lookup API p99 beside a
// faulty plugin". It runs only when HEKSHER_P99 is set (it takes about a
// minute and wants a quiet machine):
//
//	make host-plugins wasm && HEKSHER_P99=1 go test -count=1 -run TestLookupP99BesideAFaultyPlugin -v ./cmd/heksher-host/
//
// Each case starts the built host with a healthy process plugin (banner)
// and, but for the baseline, one faulty plugin, which a keeper goroutine
// holds in its fault for the whole measurement (it sends the events that
// trigger it and restarts it through the admin API whenever its runtime
// has given it up). The load is paced, not saturating: p99Workers workers
// send p99Rate requests per second in all over keep-alive connections to
// GET /api/v1/lookup/motd?user=alice for p99Window.
func TestLookupP99BesideAFaultyPlugin(t *testing.T) {
	if os.Getenv("HEKSHER_P99") == "" {
		t.Skip("set HEKSHER_P99=1 to measure the lookup API's p99 beside faulty plugins")
	}
	banner := built(t, "examples/demo/banner/bin/banner")
	type fault struct {
		name   string
		plugin func(dir string) string    // its plugins[] entry; "" for none
		poke   func(server string, i int) // sends what triggers the fault, every p99Poke
	}
	changeSetting := func(setting string) func(string, int) {
		return func(server string, i int) {
			body := fmt.Sprintf(`{"setting":%q,"feature_values":{"user":"u%d"},"value":%d}`, setting, i, i)
			if resp, err := http.Post(server+"/api/v1/rules", "application/json", strings.NewReader(body)); err == nil {
				resp.Body.Close()
			}
		}
	}
	faults := []fault{
		{name: "no faulty plugin"},
		{
			name: "one floods its log",
			plugin: func(string) string {
				return fmt.Sprintf("{name: faulty, kind: wasm, path: %s, deadline: 60s}", built(t, "host/wasm/testdata/guest.wasm"))
			},
			poke: changeSetting("logflood"),
		},
		{
			name: "one grows its memory to its limit",
			plugin: func(string) string {
				return fmt.Sprintf("{name: faulty, kind: wasm, path: %s, deadline: 5s, memory_limit: 512MiB}",
					built(t, "host/wasm/testdata/wat/grow_limit.wasm"))
			},
			poke: changeSetting("flip"),
		},
		{
			name: "one crash-loops",
			plugin: func(dir string) string {
				// The plugin (banner) runs as a child of the script, which
				// exits a second after each start: the plugin dies with it.
				p := filepath.Join(dir, "crashloop.sh")
				script := fmt.Sprintf("#!/bin/sh\n%q \"$@\" &\nsleep 1\nexit 3\n", banner)
				if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
					t.Fatal(err)
				}
				return fmt.Sprintf("{name: faulty, kind: process, path: %s}", p)
			},
		},
	}
	var report []string
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			dir := t.TempDir()
			embedded := freeAddr(t)
			plugins := fmt.Sprintf("  - {name: banner, kind: process, path: %s}\n", banner)
			if f.plugin != nil {
				plugins += "  - " + f.plugin(dir) + "\n"
			}
			cfg := fmt.Sprintf(`
embedded: {listen: %s}
update_interval: 500ms
context_features: [user, theme, env]
context_defaults: {theme: light}
tracked_contexts: {user: ["*"], theme: ["*"], env: ["*"]}
settings:
  - {name: motd, type: str, configurable_features: [user], default: "local"}
  - {name: flip, type: int, configurable_features: [user], default: 0}
  - {name: logflood, type: int, configurable_features: [user], default: 0}
plugins:
%sadmin: {listen: "{{admin}}"}
state_dir: state
log: {level: info}
`, embedded, plugins)
			h := startHost(t, dir, cfg)
			server := "http://" + embedded
			postRule(t, server, "motd", map[string]string{"user": "alice"}, "from the service")
			h.waitFor("the rule in the lookups", 30*time.Second, func() bool {
				return string(h.lookup("motd?user=alice").Value) == `"from the service"`
			})

			ctx, cancel := context.WithCancel(context.Background())
			var keeper sync.WaitGroup
			restarts := 0
			if f.plugin != nil {
				keeper.Go(func() {
					tick := time.NewTicker(p99Poke)
					defer tick.Stop()
					for i := 1; ctx.Err() == nil; i++ {
						if f.poke != nil {
							f.poke(server, i)
						}
						if faultyState(h.admin) == "failed" {
							if resp, err := http.Post(h.admin+"/api/v1/plugins/faulty/restart", "application/json", nil); err == nil {
								resp.Body.Close()
								restarts++
							}
						}
						select {
						case <-ctx.Done():
						case <-tick.C:
						}
					}
				})
				// Let the fault start before measuring.
				h.waitFor("the fault under way", 30*time.Second, func() bool {
					p := h.plugin("faulty")
					return p.Calls > 0 || p.Restarts > 0 || p.State != "running"
				})
			}
			var up0, up1 string
			up0 = loadavg()
			cpu0 := cpuTime(h.cmd.Process.Pid)
			lat, errs := pacedLoad(h.admin+"/api/v1/lookup/motd?user=alice", p99Workers, p99Rate, p99Window)
			cpu := cpuTime(h.cmd.Process.Pid) - cpu0
			up1 = loadavg()
			cancel()
			keeper.Wait()
			if len(lat) == 0 {
				t.Fatalf("no successful lookup (%d errors)", errs)
			}
			slices.Sort(lat)
			pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
			var fst string
			if f.plugin != nil {
				p := h.plugin("faulty")
				fst = fmt.Sprintf("faulty: state %s, restarts %d (%d through the API), errors %d, timeouts %d, detail %v",
					p.State, p.Restarts, restarts, p.Errors, p.Timeouts, p.Detail)
			}
			line := fmt.Sprintf("| %s | %d | %d | %v | %v | %v | %v | %s → %s |", f.name, len(lat), errs,
				pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond),
				cpu.Round(10*time.Millisecond), up0, up1)
			t.Log(line)
			if fst != "" {
				t.Log(fst)
			}
			report = append(report, line)
			h.stop(syscall.SIGTERM)
		})
	}
	t.Logf("\n| case | lookups | errors | p50 | p99 | max | host CPU | load average (1 min) before → after |\n|---|---|---|---|---|---|---|---|\n%s",
		joinLines(report))
}

// The paced load of TestLookupP99BesideAFaultyPlugin.
const (
	p99Workers = 4
	p99Rate    = 400 // requests per second, all workers together
	p99Window  = 10 * time.Second
	p99Poke    = 300 * time.Millisecond
)

// pacedLoad sends rate requests per second in all from workers workers
// for d, each worker on its own schedule (a late request does not make the
// next one early), and returns the latencies of the answers with 200 and
// the count of the others.
func pacedLoad(url string, workers, rate int, d time.Duration) ([]time.Duration, int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	every := time.Duration(workers) * time.Second / time.Duration(rate)
	end := time.Now().Add(d)
	lat := make([][]time.Duration, workers)
	errs := make([]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			next := time.Now().Add(time.Duration(w) * every / time.Duration(workers))
			for next.Before(end) {
				time.Sleep(time.Until(next))
				next = next.Add(every)
				start := time.Now()
				resp, err := client.Get(url)
				if err != nil {
					errs[w]++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs[w]++
					continue
				}
				lat[w] = append(lat[w], time.Since(start))
			}
		})
	}
	wg.Wait()
	var all []time.Duration
	n := 0
	for w := range workers {
		all = append(all, lat[w]...)
		n += errs[w]
	}
	return all, n
}

// faultyState returns the state of the plugin "faulty" ("" when the status
// cannot be read).
func faultyState(adminURL string) string {
	resp, err := http.Get(adminURL + "/api/v1/status")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var s admin.Snapshot
	if json.NewDecoder(resp.Body).Decode(&s) != nil {
		return ""
	}
	for _, p := range s.Plugins {
		if p.Name == "faulty" {
			return p.State
		}
	}
	return ""
}

// cpuTime returns the CPU time (user and system) that process pid has
// used, 0 if it cannot be read: how much of the machine the host, faulty
// plugin included, took during a case.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which ends with the last ')':
	// utime and stime are the 12th and 13th, in clock ticks (100 a second
	// on Linux).
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	var u, st int64
	_, _ = fmt.Sscan(f[11], &u)
	_, _ = fmt.Sscan(f[12], &st)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// loadavg returns the one-minute load average.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	var one string
	_, _ = fmt.Sscan(string(b), &one)
	return one
}

func joinLines(ls []string) string {
	out := ""
	for _, l := range ls {
		out += l + "\n"
	}
	return out
}
