package main

import (
	"fmt"
	"io"
	"net/http"
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
