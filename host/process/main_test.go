package process

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heksher-go/heksher/pluginapi"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// bin returns the path of a plugin binary built by `make process-plugins`.
func bin(t testing.TB, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "bin", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: run `make process-plugins` (make test builds it): %v", p, err)
	}
	return p
}

// memSettings is an in-memory pluginapi.Settings: values by setting name,
// with "undeclared." settings refused as not declared and a feature named
// "bogus" refused as a bad context.
type memSettings struct {
	mu     sync.Mutex
	values map[string]json.RawMessage
	asked  []string // "plugin/setting" of every lookup
}

func newMemSettings(kv ...string) *memSettings {
	s := &memSettings{values: map[string]json.RawMessage{}}
	for i := 0; i+1 < len(kv); i += 2 {
		s.values[kv[i]] = json.RawMessage(kv[i+1])
	}
	return s
}

func (s *memSettings) Lookup(_ context.Context, plugin, setting string, features []pluginapi.Feature) (pluginapi.Value, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, plugin+"/"+setting)
	for _, f := range features {
		if f.Name == "bogus" {
			return pluginapi.Value{}, fmt.Errorf("setting %q has no feature %q: %w", setting, f.Name, pluginapi.ErrBadContext)
		}
	}
	if strings.HasPrefix(setting, "undeclared.") {
		return pluginapi.Value{}, fmt.Errorf("%q: %w", setting, pluginapi.ErrNotDeclared)
	}
	v, ok := s.values[setting]
	if !ok {
		return pluginapi.Value{}, fmt.Errorf("%q: %w", setting, pluginapi.ErrNotFound)
	}
	return pluginapi.Value{JSON: v, Source: pluginapi.SourceServerDefault}, nil
}

// record is one line the test plugin writes.
type record struct {
	PID        int             `json:"pid"`
	What       string          `json:"what"`
	Seq        uint64          `json:"seq"`
	Dropped    uint64          `json:"dropped"`
	Event      json.RawMessage `json:"event"`
	Error      string          `json:"error"`
	Value      json.RawMessage `json:"value"`
	Source     string          `json:"source"`
	Config     json.RawMessage `json:"config"`
	Name       string          `json:"name"`
	Args       []string        `json:"args"`
	Env        []string        `json:"env"`
	BrokerNS   float64         `json:"broker_ns"`
	BareNS     float64         `json:"bare_ns"`
	InitLookup string          `json:"init_lookup"`
}

func readRecords(t testing.TB, path string) []record {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var out []record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("record %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// lastRecord returns the last record with the given what.
func lastRecord(t testing.TB, path, what string) record {
	t.Helper()
	rs := readRecords(t, path)
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].What == what {
			return rs[i]
		}
	}
	t.Fatalf("no %q record in %s (have %d records)", what, path, len(rs))
	return record{}
}

// testPluginConfig returns a Config for the test plugin recording into a
// fresh file, and that file's path.
func testPluginConfig(t testing.TB, name string) (Config, string) {
	t.Helper()
	rec := filepath.Join(t.TempDir(), "record.jsonl")
	cfgJSON, _ := json.Marshal(map[string]any{"record": rec})
	return Config{
		Name: name, Path: bin(t, "testplugin"), Config: cfgJSON,
		Backoff: Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond},
		Logger:  testLogger(t),
	}, rec
}

// startPlugin starts cfg and closes it at the end of the test.
func startPlugin(t testing.TB, cfg Config, s pluginapi.Settings) *Plugin {
	t.Helper()
	p, err := Start(context.Background(), cfg, s)
	if err != nil {
		t.Fatalf("Start(%s): %v", cfg.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("Close(%s): %v", cfg.Name, err)
		}
	})
	return p
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
