package host

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/host/config"
)

// logLines is a slog handler's output kept for a test: the lines that a
// host wrote, searched by substring.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// count returns how many lines hold every one of parts.
func (l *logLines) count(parts ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for line := range strings.SplitSeq(l.buf.String(), "\n") {
		all := line != ""
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

// waitFor waits, up to a minute, until n lines hold every one of parts.
func (l *logLines) waitFor(t *testing.T, n int, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for l.count(parts...) < n {
		if time.Now().After(deadline) {
			l.mu.Lock()
			out := l.buf.String()
			l.mu.Unlock()
			t.Fatalf("no %d log lines with %q in a minute; the log:\n%s", n, parts, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *logLines) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// initGuestConfig is the config of host/testdata/initguest: the settings it
// declares at init and looks up.
func initGuestConfig(hang bool, settings ...map[string]any) map[string]any {
	return map[string]any{"settings": settings, "hang": hang}
}

// rateDecl is the declaration of "rate" that the init guest makes, as the
// service has it in these tests.
func rateDecl() map[string]any {
	return map[string]any{"name": "rate", "type": "int", "features": []string{"user"}, "default": json.RawMessage("1")}
}

// trapDecl declares "trap": a change that gives it the value 1 makes the
// guest trap, and so restart.
func trapDecl() map[string]any {
	return map[string]any{"name": "trap", "type": "int", "features": []string{"user"}, "default": json.RawMessage("0")}
}

// rateService is a Heksher service that has "rate" as the init guest
// declares it, with a rule giving 7 for user alice.
func rateService(t *testing.T) *hekshertest.Server {
	t.Helper()
	return hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"),
		hekshertest.WithSettings(hekshertest.Setting{Name: "rate", Type: "int", ConfigurableFeatures: []string{"user"}, Default: 1,
			Rules: []hekshertest.Rule{{Conditions: map[string]string{"user": "alice"}, Value: 7}}}))
}

// initHost starts a host with the real wasm runtime, logging into log, for
// alice, with the init guest configured by guestCfg under the name "p".
// Each of edit then changes the configuration.
func initHost(t *testing.T, serviceURL, stateDir, cache string, log *logLines, guestCfg map[string]any, edit ...func(*config.Config)) *Host {
	t.Helper()
	cfg := testConfig(t)
	cfg.Service.URL = serviceURL
	cfg.StateDir = stateDir
	cfg.ContextDefaults = map[string]string{"user": "alice", "theme": "light"}
	cfg.Plugins = []config.Plugin{{Name: "p", Kind: "wasm", Path: builtFile(t, "host/testdata/initguest.wasm"),
		Config: guestCfg, StartTimeout: config.Duration(time.Minute)}}
	for _, e := range edit {
		e(&cfg)
	}
	h, err := New(cfg, WithLogger(log.logger()), WithLoader("wasm", WasmLoader(cache, log.logger())))
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

// A plugin reads the setting it declares during its own init, and gets the
// service's value whatever caused the init: the host's start, a reload
// that replaces the plugin, a restart after a fault. The answer says that
// the value came from a rule of the service's latest answer.
func TestValuesAtInitFromService(t *testing.T) {
	srv := rateService(t)
	var log logLines
	cache := t.TempDir()
	guest := initGuestConfig(false, rateDecl(), trapDecl())
	h := initHost(t, srv.URL, t.TempDir(), cache, &log, guest)
	const fromService = `msg="init rate=7 source=rule origin=service"`
	if n := log.count(fromService, "plugin=p"); n != 1 {
		t.Errorf("at host start: %d lines %s, want 1", n, fromService)
	}
	if n := log.count("init rate", "error="); n != 0 {
		t.Errorf("at host start the init lookup failed %d times", n)
	}

	// A reload that replaces the plugin (its config changed).
	guest["tag"] = "second"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.Apply(ctx, []config.Plugin{{Name: "p", Kind: "wasm", Path: builtFile(t, "host/testdata/initguest.wasm"),
		Config: guest, StartTimeout: config.Duration(time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	if n := log.count(fromService, "plugin=p"); n != 2 {
		t.Errorf("after a reload: %d lines %s, want 2", n, fromService)
	}

	// A fault: the guest traps when trap becomes 1, and its next instance
	// is initialised again before the next event (rate becoming 8).
	if _, err := srv.AddRule("trap", map[string]string{"user": "alice"}, 1); err != nil {
		t.Fatal(err)
	}
	log.waitFor(t, 1, `msg="changed trap=1 source=rule origin=service"`)
	changed := `msg="changed rate=7 source=rule origin=service"`
	n := log.count(changed, "plugin=p")
	if _, err := srv.AddRule("rate", map[string]string{"user": "bob"}, 8); err != nil {
		t.Fatal(err)
	}
	log.waitFor(t, n+1, changed, "plugin=p")
	if n := log.count(fromService, "plugin=p"); n < 3 {
		t.Errorf("after a fault restart: %d lines %s, want at least 3", n, fromService)
	}
}

// A setting that the host's configuration declares too is readable during
// the plugin's init when the plugin declares it alike (it was NOT_DECLARED).
func TestValuesAtInitDeclaredByHostToo(t *testing.T) {
	srv := rateService(t)
	var log logLines
	initHost(t, srv.URL, t.TempDir(), t.TempDir(), &log, initGuestConfig(false, rateDecl()), func(c *config.Config) {
		c.Settings = append(c.Settings, config.Setting{Name: "rate", Type: "int", ConfigurableFeatures: []string{"user"}, Default: 1})
	})
	if n := log.count(`msg="init rate=7 source=rule origin=service"`, "plugin=p"); n != 1 {
		t.Errorf("%d init lookups of rate from the service, want 1", n)
	}
}

// With the service down at start, the plugin's init reads the value of the
// snapshot that the previous run saved (its declarations from that run were
// declared before the first update), and the answer says so; with no
// snapshot either, the declared default, and the answer says that.
func TestValuesAtInitServiceDown(t *testing.T) {
	srv := rateService(t)
	cache := t.TempDir()
	stateDir := t.TempDir()
	var first logLines
	h := initHost(t, srv.URL, stateDir, cache, &first, initGuestConfig(false, rateDecl()))
	first.waitFor(t, 1, `msg="init rate=7 source=rule origin=service"`)
	// Wait until the saved snapshot holds rate's rules.
	deadline := time.Now().Add(time.Minute)
	for {
		b, _ := os.ReadFile(filepath.Join(stateDir, "snapshot.json"))
		if bytes.Contains(b, []byte(`rate`)) && bytes.Contains(b, []byte(`alice`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the snapshot never held rate: %s", b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	closeHost(t, h)
	url := srv.URL
	srv.Close()

	var second logLines
	h2 := initHost(t, url, stateDir, cache, &second, initGuestConfig(false, rateDecl()))
	if got := h2.Snapshot().Service.Serving; got != "snapshot" {
		t.Errorf("serving %q, want snapshot", got)
	}
	if n := second.count(`msg="init rate=7 source=rule origin=snapshot"`, "plugin=p"); n != 1 {
		t.Errorf("with the service down: %d init lookups of rate from the snapshot, want 1", n)
	}

	var third logLines
	initHost(t, url, t.TempDir(), cache, &third, initGuestConfig(false, rateDecl()))
	if n := third.count(`msg="init rate=1 source=local_default origin=defaults"`, "plugin=p"); n != 1 {
		t.Errorf("with the service down and no snapshot: %d init lookups of rate's default, want 1", n)
	}
}

// A plugin whose init never ends holds up neither the host's readiness
// nor the other plugins' values at init.
func TestValuesAtInitHangingPlugin(t *testing.T) {
	srv := rateService(t)
	var log logLines
	hang := config.Plugin{Name: "hang", Kind: "wasm", Path: builtFile(t, "host/testdata/initguest.wasm"),
		Config: initGuestConfig(true, rateDecl()), StartTimeout: config.Duration(3 * time.Second)}
	h := initHost(t, srv.URL, t.TempDir(), t.TempDir(), &log, initGuestConfig(false, rateDecl()), func(c *config.Config) {
		c.Plugins = append(c.Plugins, hang)
	})
	if !h.Ready() {
		t.Fatal("not ready")
	}
	if n := log.count(`msg="init rate=7 source=rule origin=service"`, "plugin=p"); n != 1 {
		t.Errorf("%d init lookups of rate from the service beside a hanging plugin, want 1", n)
	}
	if got := pluginStates(h); !strings.Contains(got, "hang:failed") {
		t.Errorf("plugins %s, want hang failed", got)
	}
}

// initRecord is what host/process/testdata/testplugin records of an Init
// that looked test.limit up.
type initRecord struct {
	What       string          `json:"what"`
	InitLookup string          `json:"init_lookup"`
	InitOrigin string          `json:"init_origin"`
	InitValue  json.RawMessage `json:"init_value"`
}

func initRecords(t *testing.T, path string) []initRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []initRecord
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		var r initRecord
		if json.Unmarshal(line, &r) == nil && r.What == "init" {
			out = append(out, r)
		}
	}
	return out
}

// waitInits waits, up to a minute, for n Init records at path, and returns
// the last.
func waitInits(t *testing.T, path string, n int) initRecord {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		rs := initRecords(t, path)
		if len(rs) >= n {
			return rs[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d Init records in a minute, want %d: %+v", len(rs), n, rs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A process plugin declares in the manifest that Init returns, so its Init
// reads its declarations as the host knows them before: from the plugin's
// previous run (the declaration cache) at the host's start, from the
// plugin's previous version at a reload, from its manifest at a restart.
// Each time the value is the service's, and the answer says so.
func TestValuesAtInitProcess(t *testing.T) {
	bin := builtFile(t, "host/process/testdata/bin/testplugin")
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme", "env"),
		hekshertest.WithSettings(hekshertest.Setting{Name: "test.limit", Type: "int", ConfigurableFeatures: []string{"env"}, Default: 7,
			Rules: []hekshertest.Rule{{Conditions: map[string]string{"env": "prod"}, Value: 9}}}))
	stateDir, dir := t.TempDir(), t.TempDir()
	rec := filepath.Join(dir, "p.jsonl")
	plug := func(tag string) config.Plugin {
		return config.Plugin{Name: "p", Kind: "process", Path: bin, StartTimeout: config.Duration(time.Minute),
			Config: map[string]any{"record": rec, "init_lookup": true, "settings": []string{}, "tag": tag}}
	}
	start := func() *Host {
		cfg := testConfig(t)
		cfg.Service.URL = srv.URL
		cfg.StateDir = stateDir
		cfg.ContextFeatures = []string{"user", "theme", "env"}
		cfg.ContextDefaults = map[string]string{"theme": "light", "env": "prod"}
		cfg.TrackedContexts["env"] = []string{"*"}
		cfg.Plugins = []config.Plugin{plug("")}
		return startLogged(t, cfg, discardLogger(), WithLoader("process", ProcessLoader(discardLogger())))
	}
	first := start()
	if r := waitInits(t, rec, 1); r.InitLookup != "ErrNotFound" {
		// The first Init ever: the host learns the declaration from the
		// manifest Init returns.
		t.Logf("the first Init's lookup: %+v", r)
	}
	// The cache of the plugins' declarations is written once it is loaded.
	deadline := time.Now().Add(time.Minute)
	for {
		if b, _ := os.ReadFile(filepath.Join(stateDir, declCacheFile)); bytes.Contains(b, []byte("test.limit")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no declaration cache in a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	closeHost(t, first)

	want := initRecord{What: "init", InitLookup: "rule", InitOrigin: "service", InitValue: json.RawMessage("9")}
	same := func(r initRecord) bool {
		return r.InitLookup == want.InitLookup && r.InitOrigin == want.InitOrigin && string(r.InitValue) == string(want.InitValue)
	}
	h := start()
	t.Cleanup(func() { closeHost(t, h) })
	if r := waitInits(t, rec, 2); !same(r) {
		t.Errorf("Init at the host's start: %+v, want %+v", r, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := h.Apply(ctx, []config.Plugin{plug("second")}); err != nil {
		t.Fatal(err)
	}
	if r := waitInits(t, rec, 3); !same(r) {
		t.Errorf("Init at a reload: %+v, want %+v", r, want)
	}
	if err := h.RestartPlugin(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if r := waitInits(t, rec, 4); !same(r) {
		t.Errorf("Init at a restart: %+v, want %+v", r, want)
	}
}

// The AssemblyScript example looks rate_limit up in its init, which it
// declares there: on a real host it logs the service's value (it used to
// warn that the setting was not found).
func TestValuesAtInitAssemblyScriptExample(t *testing.T) {
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme", "env"),
		hekshertest.WithSettings(hekshertest.Setting{Name: "rate_limit", Type: "int", ConfigurableFeatures: []string{"env", "user"}, Default: 100,
			Rules: []hekshertest.Rule{{Conditions: map[string]string{"env": "prod"}, Value: 250}}}))
	var log logLines
	initHost(t, srv.URL, t.TempDir(), t.TempDir(), &log, nil, func(c *config.Config) {
		c.ContextFeatures = []string{"user", "theme", "env"}
		c.TrackedContexts["env"] = []string{"*"}
		c.Plugins = []config.Plugin{{Name: "as", Kind: "wasm", Path: builtFile(t, "examples/wasm-assemblyscript/plugin.wasm"),
			StartTimeout: config.Duration(time.Minute)}}
	})
	if n := log.count(`msg="rate_limit at init is 250"`, "plugin=as"); n != 1 {
		t.Errorf("%d lines with the service's value at init, want 1", n)
	}
	if n := log.count(`rate_limit at init:`); n != 0 {
		t.Errorf("the example warned at init %d times", n)
	}
}

// A service that stalls once the host is up (it never answers a
// declaration) costs an init's lookup of a new setting its bound, 2 s,
// not the plugin's start timeout: the answer is then the declared default,
// saying so, and the host stays ready.
func TestValuesAtInitStalledService(t *testing.T) {
	srv := rateService(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var stall atomic.Bool
	srv.Intercept(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if stall.Load() && strings.HasSuffix(r.URL.Path, "/settings/declare") {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		next.ServeHTTP(w, r)
	})
	var log logLines
	fresh := map[string]any{"name": "fresh", "type": "int", "features": []string{"user"}, "default": json.RawMessage("3")}
	h := initHost(t, srv.URL, t.TempDir(), t.TempDir(), &log, initGuestConfig(false))
	stall.Store(true)
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.Apply(ctx, []config.Plugin{{Name: "p", Kind: "wasm", Path: builtFile(t, "host/testdata/initguest.wasm"),
		Config: initGuestConfig(false, fresh), StartTimeout: config.Duration(time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	// The bound is 2 s; the load's own work comes on top of it.
	if took := time.Since(began); took >= 30*time.Second {
		t.Errorf("the reload took %v beside a stalled service", took)
	}
	if n := log.count(`msg="init fresh=3 source=local_default origin=defaults"`, "plugin=p"); n != 1 {
		t.Errorf("%d init lookups of fresh's default, want 1", n)
	}
	if !h.Ready() || !strings.Contains(pluginStates(h), "p:running") {
		t.Errorf("ready %v, plugins %s", h.Ready(), pluginStates(h))
	}
}
