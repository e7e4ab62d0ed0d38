package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) {
		if cacheDir != "" {
			_ = os.RemoveAll(cacheDir)
		}
	}))
}

// Paths of the modules `make wasm` builds.
const (
	guestWasm     = "testdata/guest.wasm"
	loopWat       = "testdata/wat/loop.wasm"
	trapWat       = "testdata/wat/trap.wasm"
	growWat       = "testdata/wat/grow.wasm"
	changesWasm   = "../../examples/wasm-changes/plugin.wasm"
	errorsWasm    = "../../examples/wasm-errorhandler/plugin.wasm"
	watPluginWasm = "../../examples/wasm-wat/plugin.wasm"
)

// memSettings is a small in-memory pluginapi.Settings for tests (the host's
// real one lives in package host): values by setting, then by the "env"
// feature ("" for no env). Only "env" and "user" are valid features.
type memSettings struct {
	mu   sync.RWMutex
	vals map[string]map[string]json.RawMessage
}

func newSettings() *memSettings {
	return &memSettings{vals: map[string]map[string]json.RawMessage{
		"answer":        {"": json.RawMessage("42"), "prod": json.RawMessage("43")},
		"greeting":      {"": json.RawMessage(`"hello"`), "prod": json.RawMessage(`"hello, prod"`)},
		"rate_limit":    {"": json.RawMessage("100"), "prod": json.RawMessage("250")},
		"big":           {"": json.RawMessage(`"` + strings.Repeat("x", 1000) + `"`)},
		"enabled":       {"": json.RawMessage("false"), "prod": json.RawMessage("true")},
		"greeting_json": {"prod": json.RawMessage(`{"greeting":"hi \"there\""}`)},
	}}
}

func (s *memSettings) set(setting, env string, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vals[setting] == nil {
		s.vals[setting] = map[string]json.RawMessage{}
	}
	s.vals[setting][env] = json.RawMessage(v)
}

func (s *memSettings) Lookup(_ context.Context, _, setting string, features []pluginapi.Feature) (pluginapi.Value, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	byEnv, ok := s.vals[setting]
	if !ok {
		return pluginapi.Value{}, fmt.Errorf("setting %q: %w", setting, pluginapi.ErrNotFound)
	}
	env := ""
	for _, f := range features {
		switch f.Name {
		case "env":
			env = f.Value
		case "user":
		default:
			return pluginapi.Value{}, pluginapi.ErrBadContext
		}
	}
	if v, ok := byEnv[env]; ok {
		return pluginapi.Value{JSON: v, Source: pluginapi.SourceRule}, nil
	}
	return pluginapi.Value{JSON: byEnv[""], Source: pluginapi.SourceServerDefault}, nil
}

// logRecorder is a slog.Handler that keeps every record as a line.
type logRecorder struct {
	mu    *sync.Mutex
	lines *[]string
	attrs string
}

func newLogRecorder() *logRecorder { return &logRecorder{mu: &sync.Mutex{}, lines: new([]string)} }

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s%s", r.Level, r.Message, h.attrs)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s", a); return true })
	h.mu.Lock()
	*h.lines = append(*h.lines, b.String())
	h.mu.Unlock()
	return nil
}
func (h *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	for _, a := range as {
		c.attrs += " " + a.String()
	}
	return &c
}
func (h *logRecorder) WithGroup(string) slog.Handler { return h }

// find returns the first line containing every part, or "".
func (h *logRecorder) find(parts ...string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range *h.lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return l
		}
	}
	return ""
}

// count returns the number of lines containing every part.
func (h *logRecorder) count(parts ...string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, l := range *h.lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			n++
		}
	}
	return n
}

func (h *logRecorder) dump() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(*h.lines, "\n")
}

// newTestRuntime returns a runtime with a per-test cache directory, closed
// at the end of the test.
func newTestRuntime(t testing.TB) (*Runtime, *logRecorder) {
	t.Helper()
	rec := newLogRecorder()
	r, err := NewRuntime(context.Background(), RuntimeConfig{CacheDir: sharedCacheDir(t), Logger: slog.New(rec)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(context.Background()); err != nil {
			t.Errorf("closing runtime: %v", err)
		}
	})
	return r, rec
}

// sharedCacheDir is one compilation cache for the whole test binary, so
// that each Go guest is compiled once, not once per test.
func sharedCacheDir(t testing.TB) string {
	cacheOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wasm-cache-")
		if err != nil {
			panic(err)
		}
		cacheDir = dir
	})
	return filepath.Join(cacheDir, "wazero")
}

var (
	cacheOnce sync.Once
	cacheDir  string
)

func mustLoad(t testing.TB, r *Runtime, cfg PluginConfig, s pluginapi.Settings) *Plugin {
	t.Helper()
	if s == nil {
		s = newSettings()
	}
	p, err := r.Load(context.Background(), cfg, s)
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("loading %s: %v (the test modules are built by `make wasm`)", cfg.Name, err)
	}
	if err != nil {
		t.Fatalf("loading %s: %v", cfg.Name, err)
	}
	return p
}

var seqs atomic.Uint64

func changed(setting string) event.Delivery {
	seq := seqs.Add(1)
	return event.Delivery{Seq: seq, Event: &event.SettingChanged{
		Header:  event.Header{Seq: seq, Time: time.Now()},
		Setting: setting,
		Old:     event.RuleSet{Retrieved: true, Rules: []event.Rule{{ID: 1, Value: json.RawMessage("1")}}},
		New: event.RuleSet{Retrieved: true, Default: json.RawMessage("5"), Rules: []event.Rule{
			{ID: 2, Conditions: []event.Condition{{Feature: "env", Value: "prod"}}, Value: json.RawMessage("2")},
			{ID: 3, Conditions: []event.Condition{{Feature: "env", Value: "dev"}, {Feature: "user", Value: "ann"}}, Value: json.RawMessage("3")},
		}},
	}}
}

// deliver delivers d with a caller's deadline that only a hung test would
// reach: tests that exercise deadlines set their own.
func deliver(p *Plugin, d event.Delivery) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return p.Deliver(ctx, d)
}
