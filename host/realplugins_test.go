package host

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/host/config"
)

// builtFile returns the absolute path of a file that make builds before the
// tests (TEST_DEPS), failing with the make target when it is missing.
func builtFile(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: run `make host-plugins wasm` first: %v", rel, err)
	}
	return p
}

// wasmHost starts a host with the real wasm runtime. Compiling a Go guest
// is slow under the race detector, so the start gets more time than
// startHost gives.
// Hosts given the same cacheDir compile each module once.
func wasmHost(t *testing.T, cfg config.Config, cacheDir string) *Host {
	t.Helper()
	h, err := New(cfg, WithLogger(discardLogger()), WithLoader("wasm", WasmLoader(cacheDir, discardLogger())))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeHost(t, h) })
	return h
}

// Two real wasm plugins declaring the same setting identically share it
// with the host's own declaration; a plugin whose declaration differs from
// the host's fails its load with a ConflictError naming the field, and the
// running set stays as it was. A plugin's memory limit reaches the runtime.
func TestRealWasmPluginsShareAndConflict(t *testing.T) {
	guest := builtFile(t, "host/wasm/testdata/guest.wasm") // declares answer: int by [env], default 42
	cfg := testConfig(t)
	cfg.ContextFeatures = append(cfg.ContextFeatures, "env")
	cfg.Settings = append(cfg.Settings, config.Setting{Name: "answer", Type: "int", ConfigurableFeatures: []string{"env"}, Default: 42})
	cfg.Plugins = []config.Plugin{{Name: "g1", Kind: "wasm", Path: guest}, {Name: "g2", Kind: "wasm", Path: guest}}
	cache := t.TempDir()
	h := wasmHost(t, cfg, cache)
	if got := pluginStates(h); got != "g1:running,g2:running" {
		t.Fatalf("plugins %s: %+v", got, h.pluginStatuses())
	}
	for _, s := range h.Snapshot().Settings {
		if s.Name == "answer" && strings.Join(s.DeclaredBy, ",") != "host,g1,g2" {
			t.Errorf("answer declared by %v, want host,g1,g2", s.DeclaredBy)
		}
	}

	other := testConfig(t)
	other.ContextFeatures = append(other.ContextFeatures, "env")
	other.Settings = append(other.Settings, config.Setting{Name: "answer", Type: "int", ConfigurableFeatures: []string{"env"}, Default: 41})
	h2 := wasmHost(t, other, cache)
	err := h2.Apply(context.Background(), []config.Plugin{{Name: "g1", Kind: "wasm", Path: guest}})
	var ce *ConflictError
	var pe *PluginError
	if !errors.As(err, &ce) || !errors.As(err, &pe) || pe.Plugin != "g1" || ce.Setting != "answer" ||
		ce.Existing != "host" || ce.Field != "default_value" || ce.Have != "41" || ce.Want != "42" {
		t.Fatalf("got %v, want g1's load refused for answer's default_value 41 vs 42", err)
	}
	if got := pluginStates(h2); got != "" {
		t.Errorf("plugins %q after the refused load", got)
	}

	// The configured memory limit reaches the runtime: the Go guest cannot
	// start within 1MiB.
	err = h.Apply(context.Background(), []config.Plugin{cfg.Plugins[0], cfg.Plugins[1],
		{Name: "small", Kind: "wasm", Path: guest, MemoryLimit: config.ByteSize(1 << 20)}})
	if !errors.As(err, &pe) || pe.Plugin != "small" || !strings.Contains(err.Error(), "limit of 16 pages") {
		t.Fatalf("got %v, want small's load refused over its limit of 16 pages", err)
	}
	if got := pluginStates(h); got != "g1:running,g2:running" {
		t.Errorf("plugins %s after the refused load", got)
	}
}

func pluginStates(h *Host) string {
	var out []string
	for _, p := range h.pluginStatuses() {
		out = append(out, p.Name+":"+p.State)
	}
	return strings.Join(out, ",")
}

// /metrics has every family the host promises (update attempts, errors,
// latency and 304s; settings; per plugin calls, errors, latency, restarts
// and drops), with a real wasm plugin behind the per-plugin ones.
func TestMetricsFamilies(t *testing.T) {
	cfg := testConfig(t)
	cfg.Plugins = []config.Plugin{{Name: "discount", Kind: "wasm", Path: builtFile(t, "examples/demo/discount/plugin.wasm")}}
	h := wasmHost(t, cfg, t.TempDir())
	postJSON(t, h.ServiceURL()+"/api/v1/rules", map[string]any{
		"setting": "discount", "feature_values": map[string]string{"user": "alice"}, "value": 15})
	scrape := func() string {
		resp, err := http.Get(h.AdminURL() + "metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	value := func(text, series string) (float64, bool) {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
		if m == nil {
			return 0, false
		}
		v, err := strconv.ParseFloat(m[1], 64)
		return v, err == nil
	}
	// The plugin has handled the change, and an update came back 304.
	eventually(t, "a delivery to the plugin and a 304", func() bool {
		text := scrape()
		d, _ := value(text, `heksher_host_plugin_delivery_duration_seconds_count{plugin="discount"}`)
		nm, _ := value(text, "heksher_host_update_not_modified_total")
		if d >= 1 && nm < 1 {
			// The embedded server's watch holds the next update: ask for
			// one, which the unchanged service answers 304.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = h.client.Reload(ctx)
		}
		return d >= 1 && nm >= 1
	})
	text := scrape()
	cases := []struct {
		name, series string
		min          float64
	}{
		{"update attempts", "heksher_host_update_attempts_total", 2},
		{"update errors", "heksher_host_update_errors_total", 0},
		{"update latency", "heksher_host_update_duration_seconds_count", 2},
		{"304s", "heksher_host_update_not_modified_total", 1},
		{"settings", "heksher_host_settings", 2},
		{"plugin calls", `heksher_host_plugin_calls_total{plugin="discount"}`, 1},
		{"plugin errors", `heksher_host_plugin_errors_total{plugin="discount"}`, 0},
		{"plugin latency", `heksher_host_plugin_delivery_duration_seconds_count{plugin="discount"}`, 1},
		{"plugin restarts", `heksher_host_plugin_restarts_total{plugin="discount"}`, 0},
		{"plugin drops", `heksher_host_plugin_dropped_events_total{plugin="discount"}`, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := value(text, tc.series)
			if !ok {
				t.Fatalf("/metrics has no %s", tc.series)
			}
			if v < tc.min {
				t.Errorf("%s = %v, want at least %v", tc.series, v, tc.min)
			}
		})
	}
	http.DefaultClient.CloseIdleConnections()
}
