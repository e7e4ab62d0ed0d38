package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heksher-go/heksher/dispatch"
	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/internal/server"
	"github.com/heksher-go/heksher/pluginapi"
)

// eventLog is an in-process Go hook that remembers what it got.
type eventLog struct {
	mu sync.Mutex
	ds []event.Delivery
}

func (l *eventLog) Deliver(_ context.Context, d event.Delivery) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ds = append(l.ds, d)
	return nil
}

func (l *eventLog) kinds() []event.Kind {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []event.Kind
	for _, d := range l.ds {
		out = append(out, d.Event.Kind())
	}
	return out
}

func (l *eventLog) has(k event.Kind) bool {
	for _, x := range l.kinds() {
		if x == k {
			return true
		}
	}
	return false
}

func testConfig(t *testing.T) config.Config {
	t.Helper()
	return config.Config{
		Embedded:        config.Embedded{Listen: "127.0.0.1:0"},
		Admin:           config.Admin{Listen: "127.0.0.1:0"},
		UpdateInterval:  config.Duration(50 * time.Millisecond),
		StartupTimeout:  config.Duration(2 * time.Second),
		ContextFeatures: []string{"user", "theme"},
		ContextDefaults: map[string]string{"theme": "light"},
		TrackedContexts: map[string][]string{"user": {"*"}, "theme": {"*"}},
		Settings: []config.Setting{
			{Name: "banner", Type: "str", ConfigurableFeatures: []string{"user", "theme"}, Default: "welcome"},
		},
		StateDir: t.TempDir(),
	}
}

func startHost(t *testing.T, cfg config.Config, opts ...Option) *Host {
	t.Helper()
	opts = append([]Option{WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, opts...)
	h, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeHost(t, h) })
	return h
}

func closeHost(t *testing.T, h *Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

func postJSON(t *testing.T, url string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, msg)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func lookupStr(t *testing.T, h *Host, setting string, feats ...pluginapi.Feature) (string, pluginapi.Value) {
	t.Helper()
	v, err := h.Lookup(context.Background(), setting, feats)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	_ = json.Unmarshal(v.JSON, &s)
	return s, v
}

func TestEmbeddedRuleChangeReachesLookupsAndHooks(t *testing.T) {
	log := &eventLog{}
	h := startHost(t, testConfig(t), WithHook(Hook{Name: "recorder", Subscriber: log}))
	alice := pluginapi.Feature{Name: "user", Value: "alice"}
	if s, v := lookupStr(t, h, "banner", alice); s != "welcome" || v.Source != pluginapi.SourceServerDefault {
		t.Fatalf("before the rule: %q from %v", s, v.Source)
	}
	postJSON(t, h.ServiceURL()+"/api/v1/rules", map[string]any{
		"setting": "banner", "feature_values": map[string]string{"user": "alice"}, "value": "winter sale"})
	eventually(t, "the rule to reach the lookup", func() bool {
		s, _ := lookupStr(t, h, "banner", alice)
		return s == "winter sale"
	})
	_, v := lookupStr(t, h, "banner", alice)
	if v.Source != pluginapi.SourceRule || v.RuleID == 0 || len(v.Conditions) != 1 || v.Conditions[0].Value != "alice" {
		t.Errorf("lookup explains %+v", v)
	}
	if s, _ := lookupStr(t, h, "banner", pluginapi.Feature{Name: "user", Value: "bob"}); s != "welcome" {
		t.Errorf("bob got %q", s)
	}
	eventually(t, "the hook's setting_changed", func() bool { return log.has(event.KindSettingChanged) })
	if !log.has(event.KindDeclared) || !log.has(event.KindUpdateOK) {
		t.Errorf("hook got %v", log.kinds())
	}
	if _, err := h.Lookup(context.Background(), "nope", nil); !errors.Is(err, pluginapi.ErrNotFound) {
		t.Errorf("unknown setting: %v", err)
	}
	if _, err := h.Lookup(context.Background(), "banner", []pluginapi.Feature{{Name: "planet", Value: "x"}}); !errors.Is(err, pluginapi.ErrBadContext) {
		t.Errorf("bad feature: %v", err)
	}

	// The status page shows the setting, its rule and the hook.
	resp, err := http.Get(h.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"banner", "winter sale", "user=alice", "recorder", "setting_changed", "depends on user"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	resp, err = http.Get(h.AdminURL() + "metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"heksher_host_update_attempts_total", "heksher_host_settings 1", `heksher_host_plugin_calls_total{plugin="recorder"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(string(metrics), "heksher_host_update_attempts_total 0") {
		t.Error("update attempts not counted")
	}
	http.DefaultClient.CloseIdleConnections()
	closeHost(t, h)
	if k := log.kinds(); k[len(k)-1] != event.KindClosing {
		t.Errorf("last event %v, want closing", k[len(k)-1])
	}
}

// restartableServer is the compatible server on a fixed loopback address
// that can be stopped and started again with its data kept.
type restartableServer struct {
	t    *testing.T
	addr string
	data string
	srv  *http.Server
	done chan struct{}
}

func newRestartableServer(t *testing.T) *restartableServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &restartableServer{t: t, addr: ln.Addr().String(), data: filepath.Join(t.TempDir(), "data.json")}
	s.serve(ln)
	t.Cleanup(s.stop)
	return s
}

func (s *restartableServer) serve(ln net.Listener) {
	eng, err := server.New(server.Options{ContextFeatures: []string{"user", "theme"}, DataFile: s.data})
	if err != nil {
		s.t.Fatal(err)
	}
	s.srv = &http.Server{Handler: eng.Handler()}
	s.done = make(chan struct{})
	go func() { defer close(s.done); _ = s.srv.Serve(ln) }()
}

func (s *restartableServer) start() {
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	s.serve(ln)
}

func (s *restartableServer) stop() {
	if s.srv == nil {
		return
	}
	_ = s.srv.Close()
	<-s.done
	s.srv = nil
}

func (s *restartableServer) url() string { return "http://" + s.addr }

func TestEmbeddedSeed(t *testing.T) {
	cfg := testConfig(t)
	cfg.Embedded.Seed = "testdata/seed.yaml"
	h := startHost(t, cfg)
	if s, v := lookupStr(t, h, "banner", pluginapi.Feature{Name: "user", Value: "carol"}); s != "carol's banner" || v.Source != pluginapi.SourceRule {
		t.Fatalf("seeded rule: %q from %v", s, v.Source)
	}
}

func TestEmbeddedBadSeed(t *testing.T) {
	cfg := testConfig(t)
	cfg.Embedded.Seed = filepath.Join(t.TempDir(), "missing.yaml")
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "embedded.seed") {
		t.Fatalf("got %v", err)
	}
}

func TestServiceDownAndBack(t *testing.T) {
	srv := newRestartableServer(t)
	cfg := testConfig(t)
	cfg.Service.URL = srv.url()
	log := &eventLog{}
	h := startHost(t, cfg, WithHook(Hook{Name: "recorder", Subscriber: log}))
	postJSON(t, srv.url()+"/api/v1/rules", map[string]any{
		"setting": "banner", "feature_values": map[string]string{"theme": "light"}, "value": "light sale"})
	bob := pluginapi.Feature{Name: "user", Value: "bob"}
	eventually(t, "the rule", func() bool { s, _ := lookupStr(t, h, "banner", bob); return s == "light sale" })

	srv.stop()
	eventually(t, "an update error", func() bool { return log.has(event.KindUpdateError) })
	if s, _ := lookupStr(t, h, "banner", bob); s != "light sale" {
		t.Fatalf("value lost while the service is down: %q", s)
	}
	// The status recorder is a subscriber of its own: it may see the error
	// after the test's hook did.
	eventually(t, "the status to show the error", func() bool {
		got := h.Snapshot().Update
		return got.Result == "error" && got.ConsecutiveFailures >= 1
	})
	srv.start()
	eventually(t, "recovery", func() bool { return h.Snapshot().Update.Result != "error" })
	if s, _ := lookupStr(t, h, "banner", bob); s != "light sale" {
		t.Fatalf("value after recovery: %q", s)
	}
}

func TestRestartServesSnapshotWhenServiceIsDown(t *testing.T) {
	srv := newRestartableServer(t)
	cfg := testConfig(t)
	cfg.Service.URL = srv.url()
	cfg.StartupTimeout = config.Duration(time.Second)
	h := startHost(t, cfg)
	postJSON(t, srv.url()+"/api/v1/rules", map[string]any{
		"setting": "banner", "feature_values": map[string]string{"user": "alice"}, "value": "kept in the snapshot"})
	alice := pluginapi.Feature{Name: "user", Value: "alice"}
	eventually(t, "the rule", func() bool { s, _ := lookupStr(t, h, "banner", alice); return s == "kept in the snapshot" })
	eventually(t, "the snapshot file", func() bool {
		b, err := os.ReadFile(filepath.Join(cfg.StateDir, "snapshot.json"))
		return err == nil && bytes.Contains(b, []byte("kept in the snapshot"))
	})
	closeHost(t, h)
	srv.stop()

	h2 := startHost(t, cfg)
	if got := h2.Snapshot().Service.Serving; got != "snapshot" {
		t.Errorf("serving %q, want snapshot", got)
	}
	if s, v := lookupStr(t, h2, "banner", alice); s != "kept in the snapshot" || v.Source != pluginapi.SourceRule {
		t.Fatalf("restarted host without service: %q from %v", s, v.Source)
	}

	// Without a snapshot the host serves the defaults.
	cfg.StateDir = t.TempDir()
	closeHost(t, h2)
	h3 := startHost(t, cfg)
	if got := h3.Snapshot().Service.Serving; got != "defaults" {
		t.Errorf("serving %q, want defaults", got)
	}
	if s, _ := lookupStr(t, h3, "banner", alice); s != "welcome" {
		t.Errorf("defaults: %q", s)
	}
}

// A service that accepts connections and never answers must not keep the
// host from serving: after the start-up timeout it serves the defaults.
func TestHungServiceAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	var held []net.Conn
	var mu sync.Mutex
	conns.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		conns.Wait()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	cfg := testConfig(t)
	cfg.Service.URL = "http://" + ln.Addr().String()
	cfg.Service.Timeout = config.Duration(30 * time.Second)
	cfg.StartupTimeout = config.Duration(300 * time.Millisecond)
	// The service never answers, so serving the defaults proves that Start
	// gave up on it at the start-up timeout instead of the request's 30 s.
	h := startHost(t, cfg)
	if got := h.Snapshot().Service.Serving; got != "defaults" {
		t.Errorf("serving %q, want defaults", got)
	}
	if !h.Ready() {
		t.Error("not ready")
	}
	if s, v := lookupStr(t, h, "banner", pluginapi.Feature{Name: "user", Value: "alice"}); s != "welcome" || v.Source != pluginapi.SourceLocalDefault {
		t.Errorf("lookup %q from %v", s, v.Source)
	}
	closeHost(t, h)

	// With a snapshot saved by an earlier run, the hung service leaves the
	// host serving the snapshot.
	live := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"))
	liveCfg := cfg
	liveCfg.Service.URL = live.URL
	liveCfg.StartupTimeout = config.Duration(5 * time.Second)
	h = startHost(t, liveCfg)
	if _, err := live.AddRule("banner", map[string]string{"user": "alice"}, "kept in the snapshot"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the snapshot", func() bool {
		b, err := os.ReadFile(filepath.Join(cfg.StateDir, "snapshot.json"))
		return err == nil && bytes.Contains(b, []byte("kept in the snapshot"))
	})
	closeHost(t, h)
	h = startHost(t, cfg)
	if got := h.Snapshot().Service.Serving; got != "snapshot" {
		t.Errorf("serving %q with a snapshot and a hung service, want snapshot", got)
	}
	if s, _ := lookupStr(t, h, "banner", pluginapi.Feature{Name: "user", Value: "alice"}); s != "kept in the snapshot" {
		t.Errorf("lookup %q from the snapshot", s)
	}
}

func TestPluginDeclarationsAndLookups(t *testing.T) {
	f := &fakeLoader{hangs: map[string]chan struct{}{}}
	dir := t.TempDir()
	write := func(name string, ff fakeFile) string {
		b, _ := json.Marshal(ff)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	limit := pluginapi.Declaration{Name: "limit", Type: "int", ConfigurableFeatures: []string{"user"}, Default: json.RawMessage(`5`)}
	cfg := testConfig(t)
	cfg.Plugins = []config.Plugin{
		{Name: "a", Kind: "wasm", Path: write("a", fakeFile{Kinds: []string{"setting_changed"}, Decls: []pluginapi.Declaration{limit}})},
		{Name: "b", Kind: "wasm", Path: write("b", fakeFile{Kinds: []string{"update_ok"}, Decls: []pluginapi.Declaration{limit}})},
		{Name: "bad", Kind: "wasm", Path: write("bad", fakeFile{Decls: []pluginapi.Declaration{{ConfigurableFeatures: []string{"user"}, Name: "limit", Type: "str", Default: json.RawMessage(`"x"`)}}})},
	}
	h := startHost(t, cfg, WithLoader("wasm", f), WithHook(Hook{Name: "taken", Subscriber: &eventLog{}}))
	if err := h.Apply(context.Background(), []config.Plugin{{Name: "taken", Kind: "wasm", Path: cfg.Plugins[0].Path}}); err == nil || !strings.Contains(err.Error(), "in-process hook") {
		t.Errorf("a plugin named like a hook: %v", err)
	}
	ps := h.pluginStatuses()
	if len(ps) != 4 || ps[0].State != "running" || ps[1].State != "running" || ps[2].Kind != "go" || ps[2].QueueSize != config.DefaultPluginQueueSize || ps[3].State != "failed" ||
		!strings.Contains(ps[3].LastError, "already declared") {
		t.Fatalf("statuses %+v", ps)
	}
	// The shared setting was declared once, for both (the order against the
	// first update: TestPluginSettingsDeclaredBeforeFirstUpdate).
	eventually(t, "limit's declaration outcome", func() bool { return h.rec.outcome("limit") == "created" })
	for _, s := range h.Snapshot().Settings {
		if s.Name == "limit" && strings.Join(s.DeclaredBy, ",") != "a,b" {
			t.Errorf("limit declared by %v, want a,b", s.DeclaredBy)
		}
	}
	sa := h.pluginSettings("a", config.Grants{})
	v, err := sa.Lookup(context.Background(), "a", "limit", []pluginapi.Feature{{Name: "user", Value: "x"}})
	if err != nil || string(v.JSON) != "5" {
		t.Fatalf("a's lookup: %s %v", v.JSON, err)
	}
	if _, err := sa.Lookup(context.Background(), "a", "banner", nil); !errors.Is(err, pluginapi.ErrNotDeclared) {
		t.Errorf("undeclared read: %v", err)
	}
	open := h.pluginSettings("a", config.Grants{UndeclaredReads: true})
	if _, err := open.Lookup(context.Background(), "a", "banner", []pluginapi.Feature{{Name: "user", Value: "x"}}); err != nil {
		t.Errorf("granted undeclared read: %v", err)
	}
	postJSON(t, h.ServiceURL()+"/api/v1/rules", map[string]any{
		"setting": "limit", "feature_values": map[string]string{"user": "x"}, "value": 9})
	eventually(t, "a's setting_changed", func() bool {
		for _, d := range f.latest("a").got() {
			if c, ok := d.Event.(*event.SettingChanged); ok && c.Setting == "limit" {
				return true
			}
		}
		return false
	})
	if got := fmt.Sprint(f.latest("b").got()[0].Event.Kind()); got != "update_ok" {
		t.Errorf("b got %s", got)
	}
}

var _ dispatch.Subscriber = (*eventLog)(nil)

func TestEmbeddedLogsDemoted(t *testing.T) {
	cases := []struct {
		name  string
		level slog.Level
		want  []string
		not   []string
	}{
		{"info host hides request lines", slog.LevelInfo, []string{"broken"}, []string{"request"}},
		{"debug host shows them", slog.LevelDebug, []string{"broken", "level=DEBUG msg=request"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(demoted{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tc.level})})
			log.Info("request", "path", "/api/v1/query")
			log.Warn("broken")
			for _, w := range tc.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("log lacks %q:\n%s", w, buf.String())
				}
			}
			for _, n := range tc.not {
				if strings.Contains(buf.String(), n) {
					t.Errorf("log has %q:\n%s", n, buf.String())
				}
			}
		})
	}
}

// Hosts do not share state: two in one process each keep their own client
// and settings (neither takes the process's main-client slot).
func TestTwoHostsInOneProcess(t *testing.T) {
	a := startHost(t, testConfig(t))
	b := startHost(t, testConfig(t))
	postJSON(t, a.ServiceURL()+"/api/v1/rules", map[string]any{
		"setting": "banner", "feature_values": map[string]string{"user": "alice"}, "value": "only in a"})
	alice := pluginapi.Feature{Name: "user", Value: "alice"}
	eventually(t, "a's rule", func() bool { s, _ := lookupStr(t, a, "banner", alice); return s == "only in a" })
	seen := time.Now()
	// b watches its own embedded server, where nothing changed: ask it for
	// an update rather than wait for the watch to run out.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.client.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "an update of b after a's rule", func() bool { return b.rec.lastUpdate().Time.After(seen) })
	if s, _ := lookupStr(t, b, "banner", alice); s != "welcome" {
		t.Errorf("b sees %q", s)
	}
}
