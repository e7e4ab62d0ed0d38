package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heksher-go/heksher/host/admin"
)

// stuckScript never completes go-plugin's handshake, and a child it leaves
// behind holds its output pipes.
const stuckScript = "#!/bin/sh\n/bin/sleep 605 &\nexec /bin/sleep 606\n"

// Three process plugins that never complete their handshake hold up
// nothing: the host is ready, and serves the service's values, while they
// are still starting; a plugin after them that declares nothing gets the
// first update's events at once, and one that declares a setting gets its
// events too. The three cost one start timeout together, not three: they
// fail at about the same time, each naming its start timeout.
func TestE2E_StuckPluginsHoldUpNothing(t *testing.T) {
	const startTimeout = 20 * time.Second
	dir := t.TempDir()
	embedded := freeAddr(t)
	var stuck []string
	for i := range 3 {
		p := filepath.Join(dir, fmt.Sprintf("stuck%d.sh", i+1))
		if err := os.WriteFile(p, []byte(stuckScript), 0o755); err != nil {
			t.Fatal(err)
		}
		stuck = append(stuck, p)
	}
	seed := filepath.Join(dir, "seed.yaml")
	if err := os.WriteFile(seed, []byte(`context_features: [user, theme]
settings:
  - name: motd
    type: str
    default: "local"
    configurable_features: [user]
    rules:
      - conditions: {user: alice}
        value: "from the service"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	auditFile := filepath.Join(dir, "audit.jsonl")
	cfg := fmt.Sprintf(`
embedded: {listen: %s, seed: %s}
update_interval: 500ms
context_features: [user, theme]
context_defaults: {theme: light}
tracked_contexts: {user: ["*"], theme: ["*"]}
settings:
  - {name: motd, type: str, configurable_features: [user], default: "local"}
plugins:
  - {name: stuck1, kind: process, path: %s, start_timeout: %s}
  - {name: stuck2, kind: process, path: %s, start_timeout: %s}
  - {name: stuck3, kind: process, path: %s, start_timeout: %s}
  - {name: audit, kind: process, path: %s, config: {file: %q}}
  - {name: banner, kind: process, path: %s}
admin: {listen: "{{admin}}"}
state_dir: state
`, embedded, seed, stuck[0], startTimeout, stuck[1], startTimeout, stuck[2], startTimeout,
		built(t, "plugins/audit-log/bin/audit-log"), auditFile, built(t, "examples/demo/banner/bin/banner"))

	h := startHostReady(t, dir, cfg)
	byName := func() map[string]admin.PluginStatus {
		out := map[string]admin.PluginStatus{}
		for _, p := range h.status().Plugins {
			out[p.Name] = p
		}
		return out
	}
	stillStarting := func(ps map[string]admin.PluginStatus) []string {
		var s []string
		for _, n := range []string{"stuck1", "stuck2", "stuck3"} {
			if ps[n].State == "starting" {
				s = append(s, n)
			}
		}
		return s
	}

	// Ready, with the service's values, while the stuck plugins start.
	if v := h.lookup("motd?user=alice"); string(v.Value) != `"from the service"` || v.Source != "rule" {
		t.Errorf("lookup when ready: %+v, want the service's rule", v)
	}
	if s := stillStarting(byName()); len(s) != 3 {
		t.Errorf("when ready, starting plugins are %v, want all three stuck ones: readiness waited for them", s)
	}

	// The plugin that declares nothing got the first update's change of
	// motd while the stuck ones still start.
	h.waitFor("the audit plugin to record the first update", 2*startTimeout, func() bool {
		b, _ := os.ReadFile(auditFile)
		return strings.Contains(string(b), `"setting":"motd"`)
	})
	if s := stillStarting(byName()); len(s) == 0 {
		t.Errorf("the audit plugin got its first event only after the stuck plugins had failed")
	}

	// The stuck plugins fail at their start timeout, together.
	h.waitFor("the stuck plugins to fail", 4*startTimeout, func() bool {
		ps := byName()
		return ps["stuck1"].State == "failed" && ps["stuck2"].State == "failed" && ps["stuck3"].State == "failed"
	})
	ps := byName()
	var failedAt []time.Time
	for _, n := range []string{"stuck1", "stuck2", "stuck3"} {
		if !strings.Contains(ps[n].LastError, "start") {
			t.Errorf("%s failed with %q, want its start timeout named", n, ps[n].LastError)
		}
		failedAt = append(failedAt, ps[n].LastErrorAt)
	}
	first, last := slices.MinFunc(failedAt, time.Time.Compare), slices.MaxFunc(failedAt, time.Time.Compare)
	if spread := last.Sub(first); spread >= startTimeout {
		t.Errorf("the stuck plugins failed %v apart: loaded one after the other, not at once", spread)
	}

	// The plugin that declares a setting runs and follows changes.
	h.waitFor("banner running", 2*startTimeout, func() bool { return byName()["banner"].State == "running" })
	postRule(t, "http://"+embedded, "banner", map[string]string{"user": "alice"}, "after the stuck ones")
	h.waitLog(`banner for user=alice is \"after the stuck ones\" (rule`, e2eInterval+e2eSlack)
	if v := h.lookup("motd?user=alice"); string(v.Value) != `"from the service"` {
		t.Errorf("lookup at the end: %+v", v)
	}
	h.stop(syscall.SIGTERM)
}
