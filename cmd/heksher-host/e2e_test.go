package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heksher-go/heksher/host/admin"
)

// demoConfig is a host with the embedded server, the demo's process and
// wasm plugins, and the wasm test guest, whose handler for the setting
// "loop" spins in pure wasm code (a genuinely hung plugin; its deadline is
// long so that it stays hung for the whole test).
func demoConfig(t *testing.T, embedded string, interval time.Duration) string {
	return fmt.Sprintf(`
embedded:
  listen: %s
update_interval: %s
startup_timeout: 5s
context_features: [user, theme, env]
context_defaults: {theme: light}
tracked_contexts: {user: ["*"], theme: ["*"], env: ["*"]}
settings:
  - name: loop
    type: int
    configurable_features: [user]
    default: 0
plugins:
  - name: banner
    kind: process
    path: %s
    config: {users: [alice, bob, carol]}
  - name: discount
    kind: wasm
    path: %s
  - name: hung
    kind: wasm
    path: %s
    deadline: 30s
    queue_size: 4
admin:
  listen: "{{admin}}"
state_dir: state
`, embedded, interval, built(t, "examples/demo/banner/bin/banner"), built(t, "examples/demo/discount/plugin.wasm"),
		built(t, "host/wasm/testdata/guest.wasm"))
}

// The update interval the end-to-end tests run with, and the slack allowed
// on top of one interval for a change to travel (the poll, the plugin's
// queue, a lookup back through the host) on a loaded CI machine.
const (
	e2eInterval = time.Second
	e2eSlack    = 4 * time.Second
)

func TestE2E_RuleChangeReachesPluginsAndLookups(t *testing.T) {
	embedded := freeAddr(t)
	h := startHost(t, t.TempDir(), demoConfig(t, embedded, e2eInterval))
	server := "http://" + embedded
	h.waitLog(`banner for user=alice is \"welcome\"`, 10*time.Second)
	h.waitLog(`discount for user=alice is 0%`, 10*time.Second)

	postRule(t, server, "banner", map[string]string{"user": "alice"}, "winter sale")
	postRule(t, server, "discount", map[string]string{"user": "alice"}, 20)
	h.waitLog(`banner for user=alice is \"winter sale\" (rule`, e2eInterval+e2eSlack)
	h.waitLog(`discount for user=alice is 20% (was 0%)`, e2eInterval+e2eSlack)
	r := h.lookup("banner?user=alice")
	var v string
	_ = json.Unmarshal(r.Value, &v)
	if v != "winter sale" || r.Source != "rule" || r.RuleID == 0 || len(r.Conditions) != 1 {
		t.Errorf("lookup %+v", r)
	}
	if r := h.lookup("discount?user=bob"); string(r.Value) != "0" || r.Source != "server_default" {
		t.Errorf("bob's discount %+v", r)
	}

	// A plugin that hangs in pure wasm code delays only itself: the other
	// plugins and the lookup API keep up with the next change.
	hung := func() admin.PluginStatus {
		for _, p := range h.status().Plugins {
			if p.Name == "hung" {
				return p
			}
		}
		t.Fatal("no plugin hung in the status")
		return admin.PluginStatus{}
	}
	postRule(t, server, "loop", map[string]string{"user": "alice"}, 1)
	h.waitFor("the loop rule to be applied", e2eInterval+e2eSlack, func() bool {
		return string(h.lookup("loop?user=alice").Value) == "1"
	})
	postRule(t, server, "banner", map[string]string{"user": "bob"}, "spring sale")
	h.waitLog(`banner for user=bob is \"spring sale\" (rule`, e2eInterval+e2eSlack)
	if r := h.lookup("banner?user=bob"); string(r.Value) != `"spring sale"` {
		t.Errorf("lookup while a plugin hangs: %+v", r)
	}
	// The banner change that the others handled waits in the hung plugin's
	// queue: it is still inside the loop delivery, not killed (its
	// deadline is 30 s).
	if p := hung(); p.Queued == 0 || p.Timeouts != 0 || p.State != "running" {
		t.Errorf("the hung plugin should still be spinning with events queued: %+v", p)
	}
	st := h.status()
	if st.Update.Result == "error" {
		t.Errorf("update loop failing while a plugin hangs: %+v", st.Update)
	}
	for _, p := range st.Plugins {
		if p.Name == "banner" && p.Errors != 0 {
			t.Errorf("banner had errors: %+v", p)
		}
	}

	// SIGTERM: closing delivered, plugins stopped, exit 0 within 5 s even
	// with a plugin still hung, and no plugin process left behind.
	pids := h.pluginPIDs()
	if len(pids) == 0 {
		t.Fatal("no process plugin pid in the status")
	}
	took := h.stop(syscall.SIGTERM)
	if h.err != nil {
		t.Errorf("exit: %v", h.err)
	}
	if took > 5*time.Second {
		t.Errorf("shutdown took %v", took)
	}
	if !strings.Contains(h.out.String(), `msg="banner closing"`) {
		t.Error("the process plugin did not get the closing event")
	}
	for name, pid := range pids {
		if alive(pid) {
			t.Errorf("plugin %s (pid %d) outlived the host", name, pid)
		}
	}
}

func TestE2E_BadConfigFiles(t *testing.T) {
	bin := built(t, "cmd/heksher-host/bin/heksher-host")
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown field", "update_interval: 1s\nplugins:\n  - name: a\n    kind: wasm\n    path: a.wasm\n    dedline: 1s\n", `host.yaml:6:5: plugins[0].dedline: unknown field "dedline"`},
		{"wrong type", "admin:\n  listen: 127.0.0.1:0\nupdate_interval: soon\n", `host.yaml:3:18: update_interval: want a duration`},
		{"public admin without token", "admin:\n  listen: 0.0.0.0:7070\n", `host.yaml:2:11: admin.listen: "0.0.0.0:7070" is not a loopback address`},
		{"bad yaml", "plugins: [\n", `host.yaml:1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "host.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := runBinary(bin, "-config", path)
			if code := exitCode(err); code != 1 {
				t.Fatalf("exit code %d (%v), output %s", code, err, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output %q lacks %q", out, tc.want)
			}
		})
	}
}

func TestE2E_StatusPageInChromium(t *testing.T) {
	chromium := findChromium(t)
	embedded := freeAddr(t)
	h := startHost(t, t.TempDir(), demoConfig(t, embedded, e2eInterval))
	postRule(t, "http://"+embedded, "banner", map[string]string{"user": "alice"}, "winter sale")
	h.waitFor("the rule on the status page", 10*time.Second, func() bool {
		resp, err := http.Get(h.admin + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), "winter sale")
	})
	h.waitFor("the test guest's last error", 10*time.Second, func() bool {
		for _, p := range h.status().Plugins {
			if p.Name == "hung" && p.LastError != "" {
				return true
			}
		}
		return false
	})
	st := h.status()
	if st.Update.ETag == "" {
		t.Fatalf("no ETag in the status: %+v", st.Update)
	}
	dom := dumpDOM(t, chromium, h.admin+"/")
	for _, want := range []string{
		`id="setting-banner"`, `id="setting-discount"`, `id="setting-loop"`, "winter sale", "user=alice",
		`id="plugin-banner"`, `id="plugin-discount"`, `id="plugin-hung"`, "running", "Last update", "Latest events",
		"ETag", st.Update.ETag, "Consecutive failures", "Current value", `"welcome"`, "setting_changed", "Last error",
		`http-equiv="refresh"`, `id="serving" class="ok">service`, "Calls", "Timeouts", "Restarts", "Dropped",
		// The test guest looks up settings it did not declare: its last
		// error is on the page.
		"setting not declared by this plugin",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered status page lacks %q", want)
		}
	}
	// Readable without JavaScript: the server sends no script at all.
	resp, err := http.Get(h.admin + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if strings.Contains(strings.ToLower(string(raw)), "<script") {
		t.Error("the status page uses JavaScript")
	}
}

func TestE2E_CheckFlag(t *testing.T) {
	bin := built(t, "cmd/heksher-host/bin/heksher-host")
	out, err := runBinary(bin, "-check", "-config", filepath.Join(repo, "examples/demo/host.yaml"))
	if exitCode(err) != 0 || !strings.Contains(out, "host.yaml: ok") {
		t.Fatalf("-check on the demo config: %v %s", err, out)
	}
	out, err = runBinary(bin, "-config", filepath.Join(t.TempDir(), "missing.yaml"))
	if exitCode(err) != 1 || !strings.Contains(out, "no such file") {
		t.Fatalf("missing file: %v %s", err, out)
	}
	if _, err := runBinary(bin, "-no-such-flag"); exitCode(err) != 2 {
		t.Fatalf("bad flag: exit %d", exitCode(err))
	}
}

// A process plugin killed from outside is restarted by the host's runtime;
// meanwhile the other plugins keep getting their events, and the restarted
// plugin, initialised again with its configuration, gets the next ones.
func TestE2E_CrashedPluginIsRestarted(t *testing.T) {
	embedded := freeAddr(t)
	h := startHost(t, t.TempDir(), demoConfig(t, embedded, e2eInterval))
	server := "http://" + embedded
	h.waitLog(`banner for user=alice is \"welcome\"`, 10*time.Second)
	pid := h.pluginPIDs()["banner"]
	if pid == 0 {
		t.Fatal("no pid for banner")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	postRule(t, server, "discount", map[string]string{"user": "alice"}, 30)
	h.waitLog(`discount for user=alice is 30%`, e2eInterval+e2eSlack)
	// carol is only in the plugin's configuration (its built-in users are
	// alice and bob): the restarted process was initialised again with it.
	postRule(t, server, "banner", map[string]string{"user": "carol"}, "after the crash")
	h.waitLog(`banner for user=carol is \"after the crash\"`, 30*time.Second)
	h.waitFor("the restart in the status", 10*time.Second, func() bool {
		for _, p := range h.status().Plugins {
			if p.Name == "banner" {
				return p.Restarts >= 1 && p.State == "running" && p.Detail["pid"] != fmt.Sprint(pid)
			}
		}
		return false
	})
}
