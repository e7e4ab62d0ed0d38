package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heksher-go/heksher/host/admin"
)

// restartPlugin asks the admin API to restart one plugin and returns the
// answer's status and error text.
func (h *hostProc) restartPlugin(name string) (int, string) {
	h.t.Helper()
	resp, err := http.Post(h.admin+"/api/v1/plugins/"+name+"/restart", "application/json", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body["error"]
}

func (h *hostProc) plugin(name string) admin.PluginStatus {
	h.t.Helper()
	for _, p := range h.status().Plugins {
		if p.Name == name {
			return p
		}
	}
	h.t.Fatalf("no plugin %s in the status", name)
	return admin.PluginStatus{}
}

// A wasm guest that traps on every setting change and a process plugin
// that crashes as it starts both end up failed under the one restart
// policy, and are then left alone: no new instance, no new process. A
// reload with an unchanged configuration brings both back, and so does the
// admin API's restart of each; the API refuses an unknown name with 404.
func TestE2E_FailedPluginsStayDownUntilRestarted(t *testing.T) {
	dir := t.TempDir()
	embedded := freeAddr(t)
	server := "http://" + embedded
	crashMark := filepath.Join(dir, "crash")
	starts := filepath.Join(dir, "starts")
	crasher := filepath.Join(dir, "crasher.sh")
	// While the mark exists the plugin exits before its handshake, on
	// every start; without it, it is the banner plugin.
	script := fmt.Sprintf("#!/bin/sh\necho start >> %q\nif [ -e %q ]; then exit 3; fi\nexec %q \"$@\"\n",
		starts, crashMark, built(t, "examples/demo/banner/bin/banner"))
	if err := os.WriteFile(crasher, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(crashMark, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`
embedded: {listen: %s}
update_interval: 300ms
context_features: [user, theme]
context_defaults: {theme: light}
tracked_contexts: {user: ["*"], theme: ["*"]}
settings:
  - {name: flip, type: int, configurable_features: [user], default: 0}
plugins:
  - {name: trapper, kind: wasm, path: %s, config: {tag: trapper}}
  - {name: crasher, kind: process, path: %s}
admin: {listen: "{{admin}}"}
state_dir: state
`, embedded, built(t, "host/wasm/testdata/wat/trap.wasm"), crasher)
	h := startHost(t, dir, cfg)
	startCount := func() int {
		b, _ := os.ReadFile(starts)
		return strings.Count(string(b), "start")
	}
	rule := 0
	change := func() {
		rule++
		postRule(t, server, "flip", map[string]string{"user": fmt.Sprintf("u%d", rule)}, rule)
	}
	// trapToFailure changes flip until the trapper is failed: each change
	// it gets traps (changes during its restart backoff are dropped).
	trapToFailure := func() {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for h.plugin("trapper").State != "failed" {
			if time.Now().After(deadline) {
				t.Fatalf("the trapper is not failed after 2 minutes of changes: %+v", h.plugin("trapper"))
			}
			calls := h.plugin("trapper").Calls
			change()
			h.waitFor("the change to reach the trapper", 30*time.Second, func() bool {
				p := h.plugin("trapper")
				return p.Calls > calls || p.State == "failed"
			})
		}
	}
	// quiet waits for n more update attempts with changes, and checks
	// that the failed plugins were left alone meanwhile.
	quiet := func(n int) {
		t.Helper()
		tr, cs := h.plugin("trapper"), startCount()
		// One change per update: the embedded server's watch brings
		// changes made together in one answer.
		for range n {
			target := h.status().Update.Attempts + 1
			change()
			h.waitFor("more updates", 60*time.Second, func() bool { return h.status().Update.Attempts >= target })
		}
		if p := h.plugin("trapper"); p.State != "failed" || p.Restarts != tr.Restarts || p.Calls != tr.Calls {
			t.Errorf("the failed trapper was tried again: %+v, before %+v", p, tr)
		}
		if got := startCount(); got != cs {
			t.Errorf("the failed crasher was started %d more times", got-cs)
		}
	}

	// Both fail: the crasher at once, the trapper after its failures.
	if p := h.plugin("crasher"); p.State != "failed" || p.LastError == "" {
		t.Fatalf("crasher at start: %+v", p)
	}
	trapToFailure()
	quiet(3)

	// A reload of the unchanged configuration brings both back.
	if err := os.Remove(crashMark); err != nil {
		t.Fatal(err)
	}
	restarts := h.plugin("trapper").Restarts
	if msg := h.reload("sighup"); msg != "" {
		t.Fatalf("reload: %s", msg)
	}
	// Back: a fresh instance; any change that reaches it traps again, so
	// it may be restarting by now, but not failed.
	if p := h.plugin("trapper"); p.State == "failed" || p.Restarts <= restarts || p.Detail["consecutive_failures"] > "1" {
		t.Errorf("trapper after the reload: %+v", p)
	}
	h.waitFor("the crasher running after the reload", 60*time.Second, func() bool { return h.plugin("crasher").State == "running" })
	postRule(t, server, "banner", map[string]string{"user": "alice"}, "back after a reload")
	h.waitLog(`banner for user=alice is \"back after a reload\" (rule`, e2eInterval+e2eSlack)

	// Both fail again: the crasher now dies while running, and crashes on
	// every restart until its runtime gives up.
	if err := os.WriteFile(crashMark, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	pid := h.pluginPIDs()["crasher"]
	if pid == 0 {
		t.Fatalf("no pid for the crasher: %+v", h.plugin("crasher"))
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	trapToFailure()
	h.waitFor("the crasher's runtime to give up", 2*time.Minute, func() bool { return h.plugin("crasher").State == "failed" })
	quiet(3)

	// The admin API restarts each; an unknown name is refused.
	if code, msg := h.restartPlugin("no-such-plugin"); code != http.StatusNotFound || !strings.Contains(msg, "no-such-plugin") {
		t.Errorf("restart of an unknown plugin: %d %q", code, msg)
	}
	if err := os.Remove(crashMark); err != nil {
		t.Fatal(err)
	}
	restarts = h.plugin("trapper").Restarts
	if code, msg := h.restartPlugin("trapper"); code != http.StatusOK {
		t.Fatalf("restart trapper: %d %s", code, msg)
	}
	// Back: a fresh instance; any change that reaches it traps again, so
	// it may be restarting by now, but not failed.
	if p := h.plugin("trapper"); p.State == "failed" || p.Restarts <= restarts || p.Detail["consecutive_failures"] > "1" {
		t.Errorf("trapper after the admin restart: %+v", p)
	}
	if code, msg := h.restartPlugin("crasher"); code != http.StatusOK {
		t.Fatalf("restart crasher: %d %s", code, msg)
	}
	h.waitFor("the crasher running after the admin restart", 60*time.Second, func() bool { return h.plugin("crasher").State == "running" })
	postRule(t, server, "banner", map[string]string{"user": "bob"}, "back after a restart")
	h.waitLog(`banner for user=bob is \"back after a restart\" (rule`, e2eInterval+e2eSlack)
	h.stop(syscall.SIGTERM)
}
