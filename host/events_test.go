package host

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heksher-go/heksher/host/config"
)

// pluginLines records what plugins log, as "PLUGIN: MESSAGE" lines.
type pluginLines struct {
	mu    *sync.Mutex
	lines *[]string
	attrs []slog.Attr
}

func newPluginLines() *pluginLines { return &pluginLines{mu: &sync.Mutex{}, lines: new([]string)} }

func (h *pluginLines) Enabled(context.Context, slog.Level) bool { return true }
func (h *pluginLines) Handle(_ context.Context, r slog.Record) error {
	plugin := ""
	find := func(a slog.Attr) bool {
		if a.Key == "plugin" {
			plugin = a.Value.String()
		}
		return true
	}
	for _, a := range h.attrs {
		find(a)
	}
	r.Attrs(find)
	if plugin != "" {
		h.mu.Lock()
		*h.lines = append(*h.lines, plugin+": "+r.Message)
		h.mu.Unlock()
	}
	return nil
}
func (h *pluginLines) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(slices.Clone(h.attrs), as...)
	return &c
}
func (h *pluginLines) WithGroup(string) slog.Handler { return h }

func (h *pluginLines) has(line string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Contains(*h.lines, line)
}

func (h *pluginLines) with(prefix string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, l := range *h.lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// waitLines waits (a generous minute, for a loaded machine) until every
// line was logged.
func (h *pluginLines) waitLines(t *testing.T, lines ...string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for _, l := range lines {
		for !h.has(l) {
			if time.Now().After(deadline) {
				h.mu.Lock()
				t.Fatalf("no line %q in a minute; plugins logged:\n%s", l, strings.Join(*h.lines, "\n"))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// eventsConfig is a host configuration with two int settings, a and b,
// configurable by env.
func eventsConfig(t *testing.T) config.Config {
	cfg := testConfig(t)
	cfg.ContextFeatures = append(cfg.ContextFeatures, "env")
	cfg.TrackedContexts["env"] = []string{"*"}
	for _, n := range []string{"a", "b"} {
		cfg.Settings = append(cfg.Settings, config.Setting{Name: n, Type: "int", ConfigurableFeatures: []string{"env"}, Default: 0})
	}
	return cfg
}

func startLogged(t *testing.T, cfg config.Config, log *slog.Logger, opts ...Option) *Host {
	t.Helper()
	h, err := New(cfg, append([]Option{WithLogger(log)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return h
}

func eventGuest(name string, cfg map[string]any) config.Plugin {
	return config.Plugin{Name: name, Kind: "wasm", Config: cfg, StartTimeout: config.Duration(3 * time.Minute)}
}

func addRule(t *testing.T, h *Host, setting string, value int) {
	t.Helper()
	postJSON(t, h.ServiceURL()+"/api/v1/rules", map[string]any{
		"setting": setting, "feature_values": map[string]string{"env": "prod"}, "value": value})
}

// Real wasm plugins receive the changes of the settings they declared, and
// of those they select by name or with "*"; a selected setting they may
// not read arrives marked so (and their lookup of it answers NOT_DECLARED)
// unless the operator grants undeclared reads. The first update's changes
// are marked initial, later ones not.
func TestWasmPluginsReceiveTheirSettings(t *testing.T) {
	guest := builtFile(t, "host/testdata/eventguest/eventguest.wasm")
	lines := newPluginLines()
	cfg := eventsConfig(t)
	a := []string{"a"}
	cfg.Plugins = []config.Plugin{
		eventGuest("decl", map[string]any{"declare": a}),
		eventGuest("named", map[string]any{"declare": a, "subscribe": []string{"b"}}),
		eventGuest("all", map[string]any{"declare": a, "subscribe": []string{"*"}}),
		eventGuest("granted", map[string]any{"declare": a, "subscribe": []string{"b"}}),
	}
	for i := range cfg.Plugins {
		cfg.Plugins[i].Path = guest
	}
	cfg.Plugins[3].Grants.UndeclaredReads = true
	h := startLogged(t, cfg, slog.New(lines), WithLoader("wasm", WasmLoader(t.TempDir(), slog.New(lines))))
	t.Cleanup(func() { closeHost(t, h) })

	const (
		aFirst     = "changed a initial=true unreadable=false lookup=ok"
		bFirstNo   = "changed b initial=true unreadable=true lookup=not_declared"
		bFirstOK   = "changed b initial=true unreadable=false lookup=ok"
		aLater     = "changed a initial=false unreadable=false lookup=ok"
		bLaterNo   = "changed b initial=false unreadable=true lookup=not_declared"
		bLaterRead = "changed b initial=false unreadable=false lookup=ok"
	)
	lines.waitLines(t, "decl: "+aFirst, "named: "+aFirst, "named: "+bFirstNo, "all: "+aFirst, "all: "+bFirstNo,
		"granted: "+aFirst, "granted: "+bFirstOK)
	addRule(t, h, "b", 5)
	addRule(t, h, "a", 6) // after b: a plugin that has a's change would have had b's
	lines.waitLines(t, "named: "+bLaterNo, "all: "+bLaterNo, "granted: "+bLaterRead,
		"decl: "+aLater, "named: "+aLater, "all: "+aLater, "granted: "+aLater)
	if got := lines.with("decl: changed b"); len(got) != 0 {
		t.Errorf("a plugin that neither declared nor selected b got its changes: %q", got)
	}
}

// A reload that replaces or removes a real wasm plugin delivers its closing
// event with the reason; the host's stop delivers "shutdown". A plugin
// whose closing handler loops forever is stopped at its deadline and the
// reload completes.
func TestWasmPluginsClosingReasons(t *testing.T) {
	guest := builtFile(t, "host/testdata/eventguest/eventguest.wasm")
	lines := newPluginLines()
	cfg := eventsConfig(t)
	a := []string{"a"}
	keep := eventGuest("keep", map[string]any{"declare": a})
	repl := eventGuest("repl", map[string]any{"declare": a})
	gone := eventGuest("gone", map[string]any{"declare": a})
	hang := eventGuest("hang", map[string]any{"declare": a, "hang_closing": true})
	hang.Deadline = config.Duration(300 * time.Millisecond)
	cfg.Plugins = []config.Plugin{keep, repl, gone, hang}
	for i := range cfg.Plugins {
		cfg.Plugins[i].Path = guest
	}
	h := startLogged(t, cfg, slog.New(lines), WithLoader("wasm", WasmLoader(t.TempDir(), slog.New(lines))))
	closed := false
	t.Cleanup(func() {
		if !closed {
			closeHost(t, h)
		}
	})
	if got := pluginStates(h); got != "keep:running,repl:running,gone:running,hang:running" {
		t.Fatalf("plugins %s", got)
	}

	repl2 := cfg.Plugins[1]
	repl2.Config = map[string]any{"declare": a, "subscribe": []string{"b"}} // another configuration: replaced
	applied := make(chan error, 1)
	go func() { applied <- h.Apply(context.Background(), []config.Plugin{cfg.Plugins[0], repl2}) }()
	select {
	case err := <-applied:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the reload did not complete in two minutes beside a plugin that hangs in its closing handler")
	}
	lines.waitLines(t, "repl: closing reason=replaced", "gone: closing reason=removed", "hang: closing hangs")
	if got := pluginStates(h); got != "keep:running,repl:running" {
		t.Errorf("after the reload: %s", got)
	}
	if got := lines.with("keep: closing"); len(got) != 0 {
		t.Errorf("an unchanged plugin got a closing event: %q", got)
	}
	closed = true
	closeHost(t, h)
	if !lines.has("keep: closing reason=shutdown") {
		t.Errorf("the host's stop gave keep no closing event with reason shutdown: %q", lines.with("keep:"))
	}
	if got := lines.with("repl: closing reason="); len(got) != 2 || got[1] != "repl: closing reason=shutdown" {
		t.Errorf("repl's closing events: %q, want replaced, then shutdown for the new one", got)
	}
}

// processRecord is a line of the process test plugin's record file.
type processRecord struct {
	PID        int    `json:"pid"`
	What       string `json:"what"`
	Setting    string `json:"setting"`
	Initial    bool   `json:"initial"`
	Unreadable bool   `json:"unreadable"`
	Reason     string `json:"reason"`
}

func processRecords(t *testing.T, path string) []processRecord {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []processRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r processRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// waitRecord waits (a generous minute) for a record matching want in path.
func waitRecord(t *testing.T, path string, want processRecord) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		for _, r := range processRecords(t, path) {
			r.PID = 0
			if r == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no record %+v in %s within a minute: %+v", want, filepath.Base(path), processRecords(t, path))
		}
	}
}

// The same semantics for real process plugins: a plugin receives its
// declared settings' changes, and the selected ones marked when it may not
// read them; a reload that replaces or removes it delivers closing with
// the reason, and one that blocks in its closing handler is stopped after
// its deadline without holding up the reload.
func TestProcessPluginsEvents(t *testing.T) {
	bin := builtFile(t, "host/process/testdata/bin/testplugin")
	dir := t.TempDir()
	rec := func(name string) string { return filepath.Join(dir, name+".jsonl") }
	plug := func(name string, extra map[string]any) config.Plugin {
		c := map[string]any{"record": rec(name)}
		for k, v := range extra {
			c[k] = v
		}
		return config.Plugin{Name: name, Kind: "process", Path: bin, Config: c, StartTimeout: config.Duration(time.Minute)}
	}
	cfg := eventsConfig(t)
	cfg.Plugins = []config.Plugin{
		plug("pdecl", map[string]any{"settings": []string{}}),
		plug("pnamed", map[string]any{"settings": []string{"b"}}),
		plug("pgranted", map[string]any{"settings": []string{"b"}}),
		plug("phang", map[string]any{"settings": []string{}, "hang_closing": true}),
	}
	cfg.Plugins[2].Grants.UndeclaredReads = true
	cfg.Plugins[3].Deadline = config.Duration(500 * time.Millisecond)
	h := startLogged(t, cfg, discardLogger(), WithLoader("process", ProcessLoader(discardLogger())))
	t.Cleanup(func() { closeHost(t, h) })

	// test.limit is the plugins' own declaration.
	waitRecord(t, rec("pdecl"), processRecord{What: "setting_changed", Setting: "test.limit", Initial: true})
	waitRecord(t, rec("pnamed"), processRecord{What: "setting_changed", Setting: "b", Initial: true, Unreadable: true})
	waitRecord(t, rec("pgranted"), processRecord{What: "setting_changed", Setting: "b", Initial: true})
	addRule(t, h, "b", 5)
	addRule(t, h, "test.limit", 6)
	waitRecord(t, rec("pnamed"), processRecord{What: "setting_changed", Setting: "b", Unreadable: true})
	waitRecord(t, rec("pgranted"), processRecord{What: "setting_changed", Setting: "b"})
	waitRecord(t, rec("pdecl"), processRecord{What: "setting_changed", Setting: "test.limit"})
	for _, r := range processRecords(t, rec("pdecl")) {
		if r.Setting == "b" || r.Setting == "a" {
			t.Errorf("pdecl got a change of %s, which it neither declared nor selected", r.Setting)
		}
	}

	pnamed2 := cfg.Plugins[1]
	pnamed2.Config = map[string]any{"record": rec("pnamed"), "settings": []string{"a"}}
	applied := make(chan error, 1)
	go func() { applied <- h.Apply(context.Background(), []config.Plugin{pnamed2, cfg.Plugins[2]}) }()
	select {
	case err := <-applied:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the reload did not complete in two minutes beside a plugin that blocks in its closing handler")
	}
	waitRecord(t, rec("pdecl"), processRecord{What: "closing", Reason: "removed"})
	waitRecord(t, rec("pnamed"), processRecord{What: "closing", Reason: "replaced"})
	waitRecord(t, rec("phang"), processRecord{What: "closing_hangs", Reason: "removed"})
	if got := pluginStates(h); got != "pnamed:running,pgranted:running" {
		t.Errorf("after the reload: %s", got)
	}
	for _, r := range processRecords(t, rec("pgranted")) {
		if r.What == "closing" {
			t.Errorf("an unchanged plugin got a closing event: %+v", r)
		}
	}
}
