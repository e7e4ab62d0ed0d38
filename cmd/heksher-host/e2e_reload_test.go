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
)

// reloadOutcomes are the log messages that end a reload, successful first.
var reloadOutcomes = []string{`msg="plugins reloaded"`, `msg="plugin reload failed; running plugins unchanged"`, `msg="reload: configuration refused`}

func (h *hostProc) reloadsEnded() int {
	n := 0
	for _, m := range reloadOutcomes {
		n += strings.Count(h.out.String(), m)
	}
	return n
}

// reload makes the host re-read its file, by SIGHUP or through the admin
// API, waits for the outcome, and returns "" on success or the error.
func (h *hostProc) reload(trigger string) string {
	h.t.Helper()
	switch trigger {
	case "admin":
		resp, err := http.Post(h.admin+"/api/v1/reload", "application/json", nil)
		if err != nil {
			h.t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode == http.StatusOK {
			return ""
		}
		if resp.StatusCode != http.StatusUnprocessableEntity || body["error"] == "" {
			h.t.Fatalf("reload answered %d %v", resp.StatusCode, body)
		}
		return body["error"]
	case "sighup":
		before := h.reloadsEnded()
		if err := h.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			h.t.Fatal(err)
		}
		h.waitFor("the reload's outcome in the log", 60*time.Second, func() bool { return h.reloadsEnded() > before })
		out := h.out.String()
		last, lastAt := "", -1
		for _, m := range reloadOutcomes {
			if i := strings.LastIndex(out, m); i > lastAt {
				last, lastAt = m, i
			}
		}
		if last == reloadOutcomes[0] {
			return ""
		}
		line, _, _ := strings.Cut(out[lastAt:], "\n")
		return line
	}
	h.t.Fatalf("unknown trigger %q", trigger)
	return ""
}

// Each hot change (add, replace by content hash, remove) and a refused
// reload, through each trigger (SIGHUP and the admin API): the unchanged
// plugins keep their process, a replaced one gets a new process and hash,
// and a failed reload leaves everything as it was.
func TestE2E_HotChangesByEachTrigger(t *testing.T) {
	for _, trigger := range []string{"sighup", "admin"} {
		t.Run(trigger, func(t *testing.T) {
			embedded := freeAddr(t)
			dir := t.TempDir()
			banner := filepath.Join(dir, "banner")
			if err := os.WriteFile(banner, []byte(mustRead(t, built(t, "examples/demo/banner/bin/banner"))), 0o755); err != nil {
				t.Fatal(err)
			}
			discount := built(t, "examples/demo/discount/plugin.wasm")
			base := fmt.Sprintf(`
embedded: {listen: %s}
update_interval: 500ms
context_features: [user, theme]
tracked_contexts: {user: ["*"], theme: ["*"]}
admin: {listen: "{{admin}}"}
state_dir: state
plugins:
  - {name: banner, kind: process, path: %s}
`, embedded, banner)
			h := startHost(t, dir, base)
			write := func(extra string) {
				cfg := strings.ReplaceAll(base, "{{admin}}", strings.TrimPrefix(h.admin, "http://")) + extra
				if err := os.WriteFile(h.cfg, []byte(cfg), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			names := func() string {
				var n []string
				for _, p := range h.status().Plugins {
					n = append(n, p.Name+":"+p.State)
				}
				return strings.Join(n, ",")
			}
			pid := h.pluginPIDs()["banner"]
			withDiscount := fmt.Sprintf("  - {name: discount, kind: wasm, path: %s}\n", discount)

			// Add.
			write(withDiscount)
			if err := h.reload(trigger); err != "" {
				t.Fatalf("adding discount: %s", err)
			}
			if got := names(); got != "banner:running,discount:running" {
				t.Fatalf("after adding discount: %s", got)
			}
			if h.pluginPIDs()["banner"] != pid {
				t.Error("adding a plugin restarted banner")
			}
			if v := h.lookup("discount?user=zed"); string(v.Value) != "0" {
				t.Errorf("discount's setting after the add: %+v", v)
			}

			// Replace by content hash: the same path, another file.
			oldSum := sha(t, h, "banner")
			if err := os.WriteFile(banner+".new", append([]byte(mustRead(t, banner)), 0), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(banner+".new", banner); err != nil {
				t.Fatal(err)
			}
			if err := h.reload(trigger); err != "" {
				t.Fatalf("replacing banner: %s", err)
			}
			newPID := h.pluginPIDs()["banner"]
			if newPID == pid || newPID == 0 || sha(t, h, "banner") == oldSum {
				t.Errorf("banner after its file changed: pid %d (was %d), sha %s (was %s)", newPID, pid, sha(t, h, "banner"), oldSum)
			}
			if got := names(); got != "banner:running,discount:running" {
				t.Errorf("after replacing banner: %s", got)
			}

			// A refused reload: discount's file does not match its hash.
			write(fmt.Sprintf("  - {name: discount, kind: wasm, path: %s, sha256: %s}\n", discount, strings.Repeat("ab", 32)))
			if err := h.reload(trigger); !strings.Contains(err, "checksum") {
				t.Errorf("reload with a wrong hash: %q, want a checksum error", err)
			}
			if got := names(); got != "banner:running,discount:running" || h.pluginPIDs()["banner"] != newPID {
				t.Errorf("after a refused reload: %s, banner pid %d (was %d)", got, h.pluginPIDs()["banner"], newPID)
			}

			// Remove.
			write("")
			if err := h.reload(trigger); err != "" {
				t.Fatalf("removing discount: %s", err)
			}
			if got := names(); got != "banner:running" || h.pluginPIDs()["banner"] != newPID {
				t.Errorf("after removing discount: %s, banner pid %d (was %d)", got, h.pluginPIDs()["banner"], newPID)
			}
			if alive(pid) {
				t.Errorf("the replaced banner process %d is still running", pid)
			}
		})
	}
}
