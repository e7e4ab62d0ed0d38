package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
)

// hookReceiver records the webhook-alerter's posts.
type hookReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []string
	payloads []alertPayload
}

// alertPayload is the webhook-alerter's JSON body, as far as the tests read it.
type alertPayload struct {
	Status              string    `json:"status"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	Error               string    `json:"error"`
	LastSuccess         time.Time `json:"last_success"`
	StaleFor            string    `json:"stale_for"`
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var p alertPayload
		_ = json.NewDecoder(req.Body).Decode(&p)
		r.mu.Lock()
		r.statuses = append(r.statuses, p.Status)
		r.payloads = append(r.payloads, p)
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) got() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.statuses, ",")
}

func serviceConfig(t *testing.T, serviceURL, hookURL string) string {
	return fmt.Sprintf(`
service:
  url: %s
  timeout: 1s
update_interval: 300ms
startup_timeout: 2s
context_features: [user, theme]
context_defaults: {theme: light}
tracked_contexts: {user: ["*"], theme: ["*"]}
plugins:
  - name: banner
    kind: process
    path: %s
  - name: alerter
    kind: process
    path: %s
    config: {url: %q, failures: 2}
admin:
  listen: "{{admin}}"
state_dir: state
`, serviceURL, built(t, "examples/demo/banner/bin/banner"), built(t, "plugins/webhook-alerter/bin/webhook-alerter"), hookURL)
}

// The service going down and coming back: error events (and an alert),
// then ok (and an all-clear), with the values kept throughout. Then the
// host is restarted while the service is down and serves the snapshot it
// saved, until the service is back.
func TestE2E_ServiceDownAndBack(t *testing.T) {
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"))
	hook := newHookReceiver(t)
	dir := t.TempDir()
	cfg := serviceConfig(t, srv.URL, hook.URL)
	h := startHost(t, dir, cfg)
	h.waitLog(`banner for user=alice is \"welcome\"`, 10*time.Second)
	if _, err := srv.AddRule("banner", map[string]string{"user": "alice"}, "saved"); err != nil {
		t.Fatal(err)
	}
	h.waitLog(`banner for user=alice is \"saved\"`, 5*time.Second)

	srv.Stop()
	h.waitFor("two failed updates", 10*time.Second, func() bool {
		u := h.status().Update
		return u.Result == "error" && u.ConsecutiveFailures >= 2
	})
	if v := h.lookup("banner?user=alice"); string(v.Value) != `"saved"` || v.Source != "rule" {
		t.Errorf("lookup while the service is down: %+v", v)
	}
	h.waitFor("the alert", 10*time.Second, func() bool { return hook.got() == "alert" })
	// The alert is built from the update error event as the process plugin
	// received it: the error, the consecutive failures, the last success.
	hook.mu.Lock()
	alert := hook.payloads[0]
	hook.mu.Unlock()
	if alert.ConsecutiveFailures < 2 || alert.Error == "" || alert.LastSuccess.IsZero() || alert.StaleFor == "" {
		t.Errorf("alert payload %+v lacks the update error's content", alert)
	}

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	h.waitFor("recovery", 10*time.Second, func() bool { return h.status().Update.Result != "error" })
	h.waitFor("the all-clear", 10*time.Second, func() bool { return hook.got() == "alert,all_clear" })
	if v := h.lookup("banner?user=alice"); string(v.Value) != `"saved"` {
		t.Errorf("lookup after recovery: %+v", v)
	}
	if _, err := os.Stat(dir + "/state/snapshot.json"); err != nil {
		t.Fatalf("no snapshot saved: %v", err)
	}

	// Restart the host with the service down: it serves the snapshot.
	h.stop(syscall.SIGTERM)
	srv.Stop()
	h2 := startHost(t, dir, cfg)
	st := h2.status()
	if st.Service.Serving != "snapshot" || st.Service.SnapshotTime.IsZero() {
		t.Errorf("serving %q (saved %v) after a restart without the service, want the snapshot", st.Service.Serving, st.Service.SnapshotTime)
	}
	if v := h2.lookup("banner?user=alice"); string(v.Value) != `"saved"` || v.Source != "rule" {
		t.Errorf("lookup from the snapshot: %+v", v)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	h2.waitFor("serving from the service again", 15*time.Second, func() bool {
		return h2.status().Service.Serving == "service"
	})
	h2.stop(syscall.SIGTERM)
	if h2.err != nil {
		t.Errorf("exit: %v", h2.err)
	}
}

// Plugins are added, replaced and removed without a restart, on SIGHUP and
// through the admin API; a failed reload leaves the running set as it was.
func TestE2E_HotReload(t *testing.T) {
	embedded := freeAddr(t)
	dir := t.TempDir()
	// A copy of the banner plugin, so that the test can change its content.
	banner := filepath.Join(dir, "banner")
	if err := os.WriteFile(banner, []byte(mustRead(t, built(t, "examples/demo/banner/bin/banner"))), 0o755); err != nil {
		t.Fatal(err)
	}
	discount := built(t, "examples/demo/discount/plugin.wasm")
	guest := built(t, "host/wasm/testdata/guest.wasm") // logs "closing" when it gets the closing event
	base := fmt.Sprintf(`
embedded: {listen: %s}
update_interval: 500ms
context_features: [user, theme]
context_defaults: {theme: light}
tracked_contexts: {user: ["*"], theme: ["*"]}
admin: {listen: "{{admin}}"}
state_dir: state
plugins:
  - {name: banner, kind: process, path: %s}
  - {name: guest, kind: wasm, path: %s}
`, embedded, banner, guest)
	h := startHost(t, dir, base)
	names := func() string {
		var n []string
		for _, p := range h.status().Plugins {
			n = append(n, p.Name+":"+p.State)
		}
		return strings.Join(n, ",")
	}
	pid := h.pluginPIDs()["banner"]
	rewrite := func(extra string) {
		cfg := strings.ReplaceAll(base, "{{admin}}", strings.TrimPrefix(h.admin, "http://")) + extra
		if err := os.WriteFile(h.cfg, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	rewrite(fmt.Sprintf("  - {name: discount, kind: wasm, path: %s}\n", discount))
	if err := h.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	h.waitFor("discount added on SIGHUP", 60*time.Second, func() bool { return names() == "banner:running,guest:running,discount:running" })
	if h.pluginPIDs()["banner"] != pid {
		t.Error("an unchanged plugin was restarted by the reload")
	}
	// The added plugin's setting was declared on the running client.
	h.waitFor("discount declared", 10*time.Second, func() bool {
		for _, s := range h.status().Settings {
			if s.Name == "discount" && s.Outcome == "created" {
				return true
			}
		}
		return false
	})
	if v := h.lookup("discount?user=zed"); string(v.Value) != "0" {
		t.Errorf("discount after hot add: %+v", v)
	}

	// A wrong checksum fails the reload: nothing changes.
	rewrite(fmt.Sprintf("  - {name: discount, kind: wasm, path: %s, sha256: %s}\n", discount, strings.Repeat("ab", 32)))
	resp, err := http.Post(h.admin+"/api/v1/reload", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body["error"], "checksum") {
		t.Errorf("bad reload answered %d %v", resp.StatusCode, body)
	}
	if got := names(); got != "banner:running,guest:running,discount:running" {
		t.Errorf("after a failed reload: %s", got)
	}

	// A configuration with a mistake is refused, naming the place; nothing changes.
	if err := os.WriteFile(h.cfg, []byte("plugins:\n  - {name: x, kind: wasm, path: x.wasm, dedline: 1s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	h.waitLog(`plugins[0].dedline: unknown field`, 10*time.Second)
	if got := names(); got != "banner:running,guest:running,discount:running" {
		t.Errorf("after a bad file: %s", got)
	}

	// Removing through the admin API.
	rewrite("")
	resp, err = http.Post(h.admin+"/api/v1/reload", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("reload: %d", resp.StatusCode)
	}
	if got := names(); got != "banner:running,guest:running" {
		t.Errorf("after removing discount: %s", got)
	}
	if h.pluginPIDs()["banner"] != pid {
		t.Error("banner was restarted")
	}

	// A new file at the same path (its content hash changes) replaces the
	// running plugin: a new process, the new hash, the others untouched.
	oldSum := sha(t, h, "banner")
	bin := append([]byte(mustRead(t, banner)), 0) // trailing bytes: still the same program
	if err := os.WriteFile(banner+".new", bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(banner+".new", banner); err != nil {
		t.Fatal(err)
	}
	resp, err = http.Post(h.admin+"/api/v1/reload", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("reload after replacing banner's file: %d", resp.StatusCode)
	}
	if got := names(); got != "banner:running,guest:running" {
		t.Errorf("after replacing banner: %s", got)
	}
	if newPID := h.pluginPIDs()["banner"]; newPID == pid || newPID == 0 {
		t.Errorf("banner's process after its file changed: pid %d, was %d", newPID, pid)
	}
	if newSum := sha(t, h, "banner"); newSum == oldSum || newSum == "" {
		t.Errorf("banner's hash after its file changed: %q, was %q", newSum, oldSum)
	}
	if alive(pid) {
		t.Errorf("the replaced banner process %d is still running", pid)
	}

	// A change outside the plugins section is not applied by a reload, and
	// the log says so; the plugins stay as they are.
	rewrite("")
	if err := os.WriteFile(h.cfg, []byte(strings.Replace(mustRead(t, h.cfg), "update_interval: 500ms", "update_interval: 700ms", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	h.waitLog("reload applies the plugins section only", 10*time.Second)
	if got := names(); got != "banner:running,guest:running" {
		t.Errorf("after a reload changing another section: %s", got)
	}

	// SIGTERM delivers the closing event before the plugins stop.
	h.stop(syscall.SIGTERM)
	if h.err != nil {
		t.Errorf("exit: %v", h.err)
	}
	if !strings.Contains(h.out.String(), `msg=closing plugin=guest`) {
		t.Error("the guest did not log its closing event")
	}
}

func sha(t *testing.T, h *hostProc, plugin string) string {
	t.Helper()
	for _, p := range h.status().Plugins {
		if p.Name == plugin {
			return p.SHA256
		}
	}
	t.Fatalf("no plugin %s in the status", plugin)
	return ""
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
