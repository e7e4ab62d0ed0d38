package host

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
