package host

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/host/config"
)

// declareRecord is what host/process/testdata/testplugin records of an
// Init that declared test.limit by InitRequest.Declare, and of what
// followed.
type declareRecord struct {
	What        string          `json:"what"`
	Setting     string          `json:"setting"`
	Error       string          `json:"error"`
	InitDeclare string          `json:"init_declare"`
	InitLookup  string          `json:"init_lookup"`
	InitOrigin  string          `json:"init_origin"`
	InitValue   json.RawMessage `json:"init_value"`
}

// waitDeclareRecord waits, up to a minute, for a record at path that ok
// accepts, and returns it.
func waitDeclareRecord(t *testing.T, path, what string, ok func(declareRecord) bool) declareRecord {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		b, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		var seen []declareRecord
		for line := range bytes.SplitSeq(b, []byte("\n")) {
			var r declareRecord
			if json.Unmarshal(line, &r) == nil && r.What == what {
				if ok(r) {
					return r
				}
				seen = append(seen, r)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s record as wanted in %s within a minute: %+v", what, filepath.Base(path), seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A brand-new process plugin (no declaration cache, no earlier version)
// declares test.limit by InitRequest.Declare in its Init and reads it in
// the same Init: the service's value, and the answer says so. The
// declaration is the manifest's (the plugin does not return it again: it
// receives the setting's changes, having selected no other setting), and
// Declare after Init is refused. A plugin that declares only in its
// manifest starts beside it as ever.
func TestValuesAtInitProcessDeclare(t *testing.T) {
	bin := builtFile(t, "host/process/testdata/bin/testplugin")
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme", "env"),
		hekshertest.WithSettings(hekshertest.Setting{Name: "test.limit", Type: "int", ConfigurableFeatures: []string{"env"}, Default: 7,
			Rules: []hekshertest.Rule{{Conditions: map[string]string{"env": "prod"}, Value: 9}}}))
	dir := t.TempDir()
	rec, oldRec := filepath.Join(dir, "p.jsonl"), filepath.Join(dir, "old.jsonl")
	cfg := testConfig(t)
	cfg.Service.URL = srv.URL
	cfg.StateDir = t.TempDir()
	cfg.ContextFeatures = []string{"user", "theme", "env"}
	cfg.ContextDefaults = map[string]string{"theme": "light", "env": "prod"}
	cfg.TrackedContexts["env"] = []string{"*"}
	cfg.Plugins = []config.Plugin{
		{Name: "p", Kind: "process", Path: bin, StartTimeout: config.Duration(time.Minute),
			Config: map[string]any{"record": rec, "init_declare": true, "init_lookup": true, "settings": []string{}}},
		{Name: "old", Kind: "process", Path: bin, StartTimeout: config.Duration(time.Minute),
			Config: map[string]any{"record": oldRec, "settings": []string{}}},
	}
	h := startLogged(t, cfg, discardLogger(), WithLoader("process", ProcessLoader(discardLogger())))
	t.Cleanup(func() { closeHost(t, h) })

	r := waitDeclareRecord(t, rec, "init", func(declareRecord) bool { return true })
	if r.InitDeclare != "ok" || r.InitLookup != "rule" || r.InitOrigin != "service" || string(r.InitValue) != "9" {
		t.Errorf("the first Init's Declare and lookup: %+v, want ok, and 9 from a rule of the service", r)
	}
	waitDeclareRecord(t, rec, "setting_changed", func(r declareRecord) bool { return r.Setting == "test.limit" })
	late := waitDeclareRecord(t, rec, "late_declare", func(declareRecord) bool { return true })
	if !strings.Contains(late.Error, "only while Init runs") {
		t.Errorf("Declare after Init: %q, want refused", late.Error)
	}
	waitDeclareRecord(t, oldRec, "setting_changed", func(r declareRecord) bool { return r.Setting == "test.limit" })
}
