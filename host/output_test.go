package host

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heksher-go/heksher/host/config"
)

// pluginBytes is a slog.Handler that formats every record as a text
// handler would and counts the bytes of the records of one plugin.
type pluginBytes struct {
	plugin string
	n      *atomic.Int64
	attrs  []slog.Attr
}

func (h *pluginBytes) Enabled(context.Context, slog.Level) bool { return true }
func (h *pluginBytes) Handle(ctx context.Context, r slog.Record) error {
	var buf bytes.Buffer
	_ = slog.NewTextHandler(&buf, nil).WithAttrs(h.attrs).Handle(ctx, r)
	if strings.Contains(buf.String(), " plugin="+h.plugin+" ") || strings.HasSuffix(buf.String(), " plugin="+h.plugin+"\n") {
		h.n.Add(int64(buf.Len()))
	}
	return nil
}
func (h *pluginBytes) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}
func (h *pluginBytes) WithGroup(string) slog.Handler { return h }

// A real wasm plugin flooding its log from its setting-changed handler gets
// no more into the host's log than the output budget of its config (a small
// one, so that the configuration is seen to reach the runtime); the status
// API and /metrics count what it dropped; and the host still stops within
// 5 s while the flood goes on.
func TestWasmOutputFloodThroughHost(t *testing.T) {
	guest := builtFile(t, "host/wasm/testdata/guest.wasm") // floods on a change of "logflood"
	var logged atomic.Int64
	log := slog.New(&pluginBytes{plugin: "flood", n: &logged})
	cfg := testConfig(t)
	cfg.ContextFeatures = append(cfg.ContextFeatures, "env")
	cfg.TrackedContexts["env"] = []string{"*"}
	cfg.Settings = append(cfg.Settings,
		config.Setting{Name: "answer", Type: "int", ConfigurableFeatures: []string{"env"}, Default: 42},
		config.Setting{Name: "logflood", Type: "int", ConfigurableFeatures: []string{"env"}, Default: 0})
	const rate, burst = 64 << 10, 64 << 10
	// Compiling the guest into a fresh cache under the race detector on a
	// loaded machine can take most of a minute.
	cfg.Plugins = []config.Plugin{{Name: "flood", Kind: "wasm", Path: guest, Deadline: config.Duration(time.Minute),
		StartTimeout: config.Duration(3 * time.Minute), Output: config.Output{Rate: rate, Burst: burst, MaxLine: 4 << 10}}}
	h, err := New(cfg, WithLogger(log), WithLoader("wasm", WasmLoader(t.TempDir(), log)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			closeHost(t, h)
		}
	})

	for deadline := time.Now().Add(3 * time.Minute); pluginStates(h) != "flood:running"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the plugin did not start within 3 minutes: %+v", h.pluginStatuses())
		}
	}
	start := time.Now()
	before := logged.Load() // the bucket holds at most its burst now
	postJSON(t, h.ServiceURL()+"/api/v1/rules", map[string]any{
		"setting": "logflood", "feature_values": map[string]string{"env": "prod"}, "value": 1})
	var dropped uint64
	for deadline := time.Now().Add(60 * time.Second); dropped <= 1000 || time.Since(start) < 2*time.Second; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no drops within 60 s of the rule: plugins %+v", h.pluginStatuses())
		}
		for _, p := range h.pluginStatuses() {
			if p.Name == "flood" {
				dropped = p.OutputDroppedLines
			}
		}
	}
	resp, err := http.Get(h.AdminURL() + "metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `heksher_host_plugin_output_dropped_lines_total{plugin="flood"} `) ||
		!strings.Contains(string(metrics), `heksher_host_plugin_output_dropped_bytes_total{plugin="flood"} `) {
		t.Error("/metrics has no output drops for the plugin")
	}

	stopCtx, stopCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer stopCancel()
	closed = true
	stopped := time.Now()
	// The plugin is stuck in its flooding delivery (its deadline is a
	// minute): the drain of the queues gives up on it, which Close reports,
	// and the plugin is then stopped in time.
	err = h.Close(stopCtx)
	if stopCtx.Err() != nil {
		t.Fatalf("the host took its whole 5 s to stop during the flood: %v", err)
	}
	if err != nil && (!errors.Is(err, context.DeadlineExceeded) || strings.Count(err.Error(), "\n") > 0 || !strings.HasPrefix(err.Error(), "dispatch: ")) {
		t.Fatalf("Close during the flood: %v; want at most the drain's deadline", err)
	}
	t.Logf("the host stopped %v after it was asked, during the flood", time.Since(stopped).Round(time.Millisecond))
	elapsed := time.Since(start)
	got := logged.Load() - before
	limit := int64(elapsed.Seconds()*rate) + burst + 32<<10
	t.Logf("%d bytes of the plugin's logged in %v (limit %d), %d lines dropped", got, elapsed.Round(time.Millisecond), limit, dropped)
	if got > limit {
		t.Errorf("the plugin got %d bytes into the host's log in %v, over its configured budget's %d", got, elapsed, limit)
	}
}
