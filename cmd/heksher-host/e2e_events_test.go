package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/host/admin"
)

// eventRecord is one line the process test plugin (host/process/testdata/
// testplugin) writes for each event it handles: the event itself as JSON,
// or for an update error its error, consecutive failures and time since
// the last success.
type eventRecord struct {
	PID     int             `json:"pid"`
	What    string          `json:"what"`
	Seq     uint64          `json:"seq"`
	Dropped uint64          `json:"dropped"`
	Event   json.RawMessage `json:"event"`
	Error   string          `json:"error"`
	Value   json.RawMessage `json:"value"`
	Config  json.RawMessage `json:"config"`
	Env     []string        `json:"env"`
}

func readRecords(t *testing.T, path string) []eventRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []eventRecord
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		var r eventRecord
		if json.Unmarshal([]byte(line), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// findRecord returns the first record for which match holds.
func findRecord(t *testing.T, path string, match func(eventRecord) bool) (eventRecord, bool) {
	t.Helper()
	for _, r := range readRecords(t, path) {
		if match(r) {
			return r, true
		}
	}
	return eventRecord{}, false
}

func pluginStatus(t *testing.T, h *hostProc, name string) admin.PluginStatus {
	t.Helper()
	for _, p := range h.status().Plugins {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no plugin %s in the status", name)
	return admin.PluginStatus{}
}

// Every event reaches a real process plugin with its whole content, through
// the built host: the declaration with its outcome, a setting change with
// the setting's name and its old and new rules, an update error with the
// error, the consecutive failures and the time since the last success, and
// the closing event at shutdown.
func TestE2E_EventsReachAPluginWhole(t *testing.T) {
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "env"))
	dir := t.TempDir()
	recordFile := filepath.Join(dir, "record.jsonl")
	auditFile := filepath.Join(dir, "audit.jsonl")
	cfg := fmt.Sprintf(`
service: {url: %s, timeout: 1s}
update_interval: 300ms
context_features: [user, env]
tracked_contexts: {user: ["*"], env: ["*"]}
settings:
  - {name: greeting, type: str, configurable_features: [user], default: hi}
plugins:
  - {name: rec, kind: process, path: %s, config: {record: %q}, grants: {env: [HEKSHER_E2E_GRANTED]}}
  - {name: audit, kind: process, path: %s, config: {file: %q}}
admin: {listen: "{{admin}}"}
state_dir: state
`, srv.URL, built(t, "host/process/testdata/bin/testplugin"), recordFile,
		built(t, "plugins/audit-log/bin/audit-log"), auditFile)
	t.Setenv("HEKSHER_E2E_GRANTED", "yes")
	t.Setenv("HEKSHER_E2E_SECRET", "no")
	h := startHost(t, dir, cfg)

	// The plugin was initialised with its configuration and sees only the
	// environment it was granted.
	h.waitFor("the plugin's init record", 30*time.Second, func() bool {
		_, ok := findRecord(t, recordFile, func(r eventRecord) bool { return r.What == "init" })
		return ok
	})
	initRec, _ := findRecord(t, recordFile, func(r eventRecord) bool { return r.What == "init" })
	env := strings.Join(initRec.Env, "\n")
	if !strings.Contains(env, "HEKSHER_E2E_GRANTED=yes") || strings.Contains(env, "HEKSHER_E2E_SECRET") {
		t.Errorf("the plugin's environment: %q", initRec.Env)
	}
	if !strings.Contains(string(initRec.Config), recordFile) {
		t.Errorf("the plugin's init config: %s", initRec.Config)
	}

	// The plugin's own declaration, with the service's outcome.
	var decl eventRecord
	h.waitFor("the declared event", 30*time.Second, func() bool {
		var ok bool
		decl, ok = findRecord(t, recordFile, func(r eventRecord) bool {
			return r.What == "declared" && strings.Contains(string(r.Event), `"Setting":"test.limit"`)
		})
		return ok
	})
	var d struct {
		Setting, Version, Outcome string
		Tracked                   bool
		Seq                       uint64
	}
	if err := json.Unmarshal(decl.Event, &d); err != nil {
		t.Fatal(err)
	}
	if d.Outcome != "created" || d.Version != "1.0" || !d.Tracked || d.Seq == 0 {
		t.Errorf("declared event as the plugin got it: %s", decl.Event)
	}

	// A rule: the change names the setting and carries the old and the
	// new rule sets.
	id, err := srv.AddRule("greeting", map[string]string{"user": "alice"}, "hello alice")
	if err != nil {
		t.Fatal(err)
	}
	var changed eventRecord
	h.waitFor("the setting_changed event", 30*time.Second, func() bool {
		var ok bool
		changed, ok = findRecord(t, recordFile, func(r eventRecord) bool {
			return r.What == "setting_changed" && strings.Contains(string(r.Event), `"Setting":"greeting"`) &&
				strings.Contains(string(r.Event), "hello alice")
		})
		return ok
	})
	var c struct {
		Setting  string
		Old, New event.RuleSet
	}
	if err := json.Unmarshal(changed.Event, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Old.Rules) != 0 || string(c.Old.Default) != `"hi"` {
		t.Errorf("old rule set as the plugin got it: %+v", c.Old)
	}
	if len(c.New.Rules) != 1 || c.New.Rules[0].ID != id || string(c.New.Rules[0].Value) != `"hello alice"` ||
		len(c.New.Rules[0].Conditions) != 1 || c.New.Rules[0].Conditions[0] != (event.Condition{Feature: "user", Value: "alice"}) {
		t.Errorf("new rule set as the plugin got it: %+v", c.New)
	}

	// The first-party audit log wrote the same change as a JSON line.
	var line struct {
		Setting string        `json:"setting"`
		Added   []int64       `json:"added_rules"`
		New     event.RuleSet `json:"new"`
	}
	h.waitFor("the audit line for greeting", 30*time.Second, func() bool {
		b, _ := os.ReadFile(auditFile)
		for l := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
			if json.Unmarshal([]byte(l), &line) == nil && line.Setting == "greeting" && len(line.Added) > 0 {
				return true
			}
		}
		return false
	})
	if line.Added[0] != id || len(line.New.Rules) != 1 || string(line.New.Rules[0].Value) != `"hello alice"` {
		t.Errorf("audit line %+v", line)
	}

	// The service goes away: update errors with their whole content.
	srv.Stop()
	var upErr eventRecord
	h.waitFor("an update error after two failures", 30*time.Second, func() bool {
		var ok bool
		upErr, ok = findRecord(t, recordFile, func(r eventRecord) bool {
			return r.What == "update_error" && strings.Contains(string(r.Value), `"consecutive":2`)
		})
		return ok
	})
	var ue struct {
		Consecutive int   `json:"consecutive"`
		SinceNS     int64 `json:"since_ns"`
	}
	if err := json.Unmarshal(upErr.Value, &ue); err != nil {
		t.Fatal(err)
	}
	if upErr.Error == "" || ue.SinceNS <= 0 {
		t.Errorf("update error as the plugin got it: error %q, %s", upErr.Error, upErr.Value)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	h.waitFor("an update_ok after the outage", 30*time.Second, func() bool {
		_, ok := findRecord(t, recordFile, func(r eventRecord) bool { return r.What == "update_ok" && r.Seq > upErr.Seq })
		return ok
	})

	// Shutdown: the closing event is the plugin's last.
	h.stop(syscall.SIGTERM)
	if h.err != nil {
		t.Errorf("exit: %v", h.err)
	}
	recs := readRecords(t, recordFile)
	if last := recs[len(recs)-1]; last.What != "closing" {
		t.Errorf("the plugin's last record is %q, want closing", last.What)
	}
}

// A plugin that blocks in its own code (it never calls the host and ignores
// its context) falls behind: its queue overflows, the host drops the oldest
// events and counts them, and the plugin, restarted after its deadline,
// sees each gap in the numbering of its deliveries.
func TestE2E_BlockedPluginSeesDropsAsGaps(t *testing.T) {
	embedded := freeAddr(t)
	dir := t.TempDir()
	recordFile := filepath.Join(dir, "record.jsonl")
	cfg := fmt.Sprintf(`
embedded: {listen: %s}
update_interval: 200ms
# The queue fills with the updates of polling; a watch would hold them.
service: {watch: false}
context_features: [user, env]
tracked_contexts: {user: ["*"], env: ["*"]}
settings:
  - {name: cmd.block, type: int, configurable_features: [env], default: 0}
plugins:
  - {name: rec, kind: process, path: %s, deadline: 3s, queue_size: 2, config: {record: %q}}
admin: {listen: "{{admin}}"}
state_dir: state
`, embedded, built(t, "host/process/testdata/bin/testplugin"), recordFile)
	h := startHost(t, dir, cfg)
	firstPID := h.pluginPIDs()["rec"]
	if firstPID == 0 {
		t.Fatal("no pid for rec")
	}
	h.waitFor("a first update_ok", 30*time.Second, func() bool {
		_, ok := findRecord(t, recordFile, func(r eventRecord) bool { return r.What == "update_ok" })
		return ok
	})

	// The change of cmd.block makes the plugin block; the updates that
	// follow fill its queue of two.
	postRule(t, "http://"+embedded, "cmd.block", map[string]string{"env": "prod"}, 1)
	h.waitFor("drops counted in the status", 30*time.Second, func() bool { return pluginStatus(t, h, "rec").Dropped > 0 })
	var after eventRecord
	h.waitFor("a delivery to the restarted plugin after a gap", 60*time.Second, func() bool {
		var ok bool
		after, ok = findRecord(t, recordFile, func(r eventRecord) bool { return r.PID != firstPID && r.Dropped > 0 })
		return ok
	})

	// No delivery reports more drops than the gap before it; the rest of a
	// gap is deliveries the plugin never finished (the cmd.block one, and
	// those queued behind it until the process was killed, with the drops
	// they reported), which the host counts as errors.
	var prev, dropped, unfinished uint64
	for _, r := range readRecords(t, recordFile) {
		if r.Seq == 0 {
			continue // init and lookups carry no delivery number
		}
		gap := r.Seq - prev - 1
		if gap < r.Dropped {
			t.Errorf("delivery %d after %d reports %d dropped, more than the gap", r.Seq, prev, r.Dropped)
		} else {
			unfinished += gap - r.Dropped
		}
		dropped += r.Dropped
		prev = r.Seq
	}
	st := pluginStatus(t, h, "rec")
	if unfinished == 0 || st.Errors == 0 {
		t.Errorf("%d numbers missing besides the reported drops, %d errors counted: the unfinished cmd.block delivery should show in both", unfinished, st.Errors)
	}
	if after.Seq <= after.Dropped {
		t.Errorf("delivery %+v: the gap does not show in its number", after)
	}
	// The host's counter covers at least what the plugin was told of.
	if st.Dropped < dropped || st.Timeouts == 0 || st.Restarts == 0 {
		t.Errorf("status %+v after %d drops reported to the plugin", st, dropped)
	}
}
