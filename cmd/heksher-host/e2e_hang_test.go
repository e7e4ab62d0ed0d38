package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/host/admin"
)

// A wasm plugin that spins in pure code (no host call, nothing cooperative)
// is killed at its deadline; the others and the lookups keep up meanwhile,
// and the next event meets a fresh instance that was initialised again
// with the plugin's configuration.
func TestE2E_HungPluginIsKilledAtItsDeadline(t *testing.T) {
	embedded := freeAddr(t)
	cfg := fmt.Sprintf(`
embedded: {listen: %s}
update_interval: 500ms
context_features: [user, theme, env]
context_defaults: {theme: light}
tracked_contexts: {user: ["*"], theme: ["*"], env: ["*"]}
settings:
  - {name: loop, type: int, configurable_features: [user], default: 0}
plugins:
  - {name: banner, kind: process, path: %s}
  - {name: spinner, kind: wasm, path: %s, deadline: 2s, config: {tag: fresh}}
admin: {listen: "{{admin}}"}
state_dir: state
`, embedded, built(t, "examples/demo/banner/bin/banner"), built(t, "host/wasm/testdata/guest.wasm"))
	h := startHost(t, t.TempDir(), cfg)
	server := "http://" + embedded
	spinner := func() admin.PluginStatus {
		for _, p := range h.status().Plugins {
			if p.Name == "spinner" {
				return p
			}
		}
		t.Fatal("no plugin spinner in the status")
		return admin.PluginStatus{}
	}
	inits := func() int { return strings.Count(h.out.String(), `msg="init tag=fresh" plugin=spinner`) }
	h.waitFor("the spinner's first init", 30*time.Second, func() bool { return inits() >= 1 })
	first := inits()

	postRule(t, server, "loop", map[string]string{"user": "alice"}, 1)
	// While it spins, the process plugin and the lookups follow a change.
	postRule(t, server, "banner", map[string]string{"user": "alice"}, "while spinning")
	h.waitLog(`banner for user=alice is \"while spinning\" (rule`, e2eInterval+e2eSlack)
	if v := h.lookup("banner?user=alice"); string(v.Value) != `"while spinning"` {
		t.Errorf("lookup while a plugin spins: %+v", v)
	}

	h.waitFor("the spinner killed at its deadline", 30*time.Second, func() bool {
		return spinner().Timeouts >= 1
	})
	if p := spinner(); p.LastError == "" {
		t.Errorf("no last error after the kill: %+v", p)
	}
	postRule(t, server, "answer", map[string]string{"env": "prod"}, 7)
	h.waitLog(`answer=7 tag=fresh`, 30*time.Second)
	if inits() <= first {
		t.Errorf("the instance after the kill was not initialised again (%d inits, %d before)", inits(), first)
	}
	if p := spinner(); p.State != "running" {
		t.Errorf("spinner state %q after recovering", p.State)
	}

	// The kill and the deliveries show in the metrics.
	resp, err := http.Get(h.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	metrics := string(b)
	for _, re := range []string{
		`heksher_host_plugin_timeouts_total\{plugin="spinner"\} [1-9]`,
		`heksher_host_plugin_calls_total\{plugin="banner"\} [1-9]`,
		`heksher_host_plugin_delivery_duration_seconds_count\{plugin="banner"\} [1-9]`,
		`heksher_host_update_attempts_total [1-9]`,
		`heksher_host_settings [1-9]`,
	} {
		if !regexp.MustCompile(re).MatchString(metrics) {
			t.Errorf("metrics lack %s", re)
		}
	}
}

// A process plugin that spins in pure code (it never looks at its context)
// is killed after its deadline and started again: the new process is
// initialised with the plugin's configuration and gets the next events,
// while the other plugins and the lookups keep up.
func TestE2E_HungProcessPluginIsKilledAndRestarted(t *testing.T) {
	embedded := freeAddr(t)
	dir := t.TempDir()
	recordFile := filepath.Join(dir, "record.jsonl")
	cfg := fmt.Sprintf(`
embedded: {listen: %s}
update_interval: 500ms
context_features: [user, theme, env]
context_defaults: {theme: light}
tracked_contexts: {user: ["*"], theme: ["*"], env: ["*"]}
settings:
  - {name: cmd.spin, type: int, configurable_features: [env], default: 0}
plugins:
  - {name: banner, kind: process, path: %s}
  - {name: spinner, kind: process, path: %s, deadline: 1s, config: {record: %q}}
admin: {listen: "{{admin}}"}
state_dir: state
`, embedded, built(t, "examples/demo/banner/bin/banner"), built(t, "host/process/testdata/bin/testplugin"), recordFile)
	h := startHost(t, dir, cfg)
	server := "http://" + embedded
	type rec struct {
		PID    int             `json:"pid"`
		What   string          `json:"what"`
		Config json.RawMessage `json:"config"`
		Event  struct {
			Setting string `json:"setting"`
		} `json:"event"`
	}
	records := func() []rec {
		b, _ := os.ReadFile(recordFile)
		var out []rec
		for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
			var r rec
			if json.Unmarshal([]byte(line), &r) == nil {
				out = append(out, r)
			}
		}
		return out
	}
	firstPID := h.pluginPIDs()["spinner"]
	if firstPID == 0 {
		t.Fatal("no pid for spinner")
	}

	// The first update brings cmd.spin: the spinner spins from then on.
	postRule(t, server, "banner", map[string]string{"user": "alice"}, "while it spins")
	h.waitLog(`banner for user=alice is \"while it spins\" (rule`, e2eInterval+e2eSlack)
	if v := h.lookup("banner?user=alice"); string(v.Value) != `"while it spins"` {
		t.Errorf("lookup while a process plugin spins: %+v", v)
	}

	h.waitFor("the spinning process killed and a new one initialised", 60*time.Second, func() bool {
		for _, r := range records() {
			if r.What == "init" && r.PID != firstPID {
				return true
			}
		}
		return false
	})
	if alive(firstPID) {
		t.Errorf("the spinning process %d is still alive", firstPID)
	}
	var reinit rec
	for _, r := range records() {
		if r.What == "init" && r.PID != firstPID {
			reinit = r
		}
	}
	if !strings.Contains(string(reinit.Config), recordFile) {
		t.Errorf("the new process was initialised with %s, want the plugin's configuration", reinit.Config)
	}
	postRule(t, server, "test.limit", map[string]string{"env": "prod"}, 9)
	h.waitFor("the new process to get the next change", 30*time.Second, func() bool {
		for _, r := range records() {
			if r.PID == reinit.PID && r.What == "setting_changed" && r.Event.Setting == "test.limit" {
				return true
			}
		}
		return false
	})
	for _, p := range h.status().Plugins {
		if p.Name == "spinner" && (p.Timeouts == 0 || p.Restarts == 0) {
			t.Errorf("spinner status after the kill: %+v", p)
		}
		if p.Name == "banner" && p.Errors != 0 {
			t.Errorf("banner had errors: %+v", p)
		}
	}
}
