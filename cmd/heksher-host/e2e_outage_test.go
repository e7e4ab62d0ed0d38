package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
)

// serverSettings returns the names of the settings the service knows, from
// its own settings list (not from the host).
func serverSettings(t *testing.T, url string) []string {
	t.Helper()
	resp, err := http.Get(url + "/api/v1/settings")
	if err != nil {
		return nil // down: nothing known yet
	}
	defer resp.Body.Close()
	var body struct {
		Settings []struct {
			Name string `json:"name"`
		} `json:"settings"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s/api/v1/settings: %v", url, err)
	}
	var names []string
	for _, s := range body.Settings {
		names = append(names, s.Name)
	}
	return names
}

// The service is down when the host starts and no snapshot exists: the host
// serves the local defaults at once. When the service comes up, the
// settings that the plugins (a process and a wasm plugin) and the host's
// own config declare are declared on it, which its settings list shows, and
// the lookups then follow its rules.
func TestE2E_DeclarationsRetriedAfterOutageAtStart(t *testing.T) {
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"))
	srv.Stop()
	cfg := fmt.Sprintf(`
service: {url: %s, timeout: 1s}
update_interval: 300ms
startup_timeout: 2s
context_features: [user, theme]
context_defaults: {theme: light}
tracked_contexts: {user: ["*"], theme: ["*"]}
settings:
  - {name: own, type: int, configurable_features: [user], default: 7}
plugins:
  - {name: banner, kind: process, path: %s}
  - {name: discount, kind: wasm, path: %s}
admin: {listen: "{{admin}}"}
state_dir: state
`, srv.URL, built(t, "examples/demo/banner/bin/banner"), built(t, "examples/demo/discount/plugin.wasm"))
	h := startHost(t, t.TempDir(), cfg)

	st := h.status()
	if st.Service.Serving != "defaults" {
		t.Errorf("serving %q with the service down and no snapshot, want defaults", st.Service.Serving)
	}
	for _, c := range []struct{ path, want string }{
		{"banner?user=alice", `"welcome"`}, {"discount?user=alice", "0"}, {"own?user=alice", "7"},
	} {
		if v := h.lookup(c.path); string(v.Value) != c.want || v.Source != "local_default" {
			t.Errorf("lookup %s during the outage: %+v, want %s from local_default", c.path, v, c.want)
		}
	}
	h.waitFor("failed attempts counted", 10*time.Second, func() bool { return h.status().Update.ConsecutiveFailures >= 2 })

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the declarations on the service", 30*time.Second, func() bool {
		names := serverSettings(t, srv.URL)
		return slices.Contains(names, "banner") && slices.Contains(names, "discount") && slices.Contains(names, "own")
	})
	if _, err := srv.AddRule("discount", map[string]string{"user": "alice"}, 25); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddRule("banner", map[string]string{"user": "alice"}, "back online"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("lookups from the service's rules", 15*time.Second, func() bool {
		return string(h.lookup("discount?user=alice").Value) == "25" && string(h.lookup("banner?user=alice").Value) == `"back online"`
	})
	if v := h.lookup("own?user=bob"); string(v.Value) != "7" || v.Source != "server_default" {
		t.Errorf("own setting after recovery: %+v, want 7 from server_default", v)
	}
	if st := h.status(); st.Service.Serving != "service" {
		t.Errorf("serving %q after recovery", st.Service.Serving)
	}
	// The plugins see the change too, through their events and lookups.
	h.waitLog(`banner for user=alice is \"back online\" (rule`, 15*time.Second)
	h.waitLog(`discount for user=alice is 25%`, 15*time.Second)
}

// A terminal's Ctrl-C (SIGINT) and a service manager's stop (SIGTERM) reach
// every process of the host's process group at once. The process plugins
// must still get the closing event from the host (they live in groups of
// their own), the host must exit 0 within 5 s, and no plugin may be left.
func TestE2E_GroupSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			embedded := freeAddr(t)
			h := startHost(t, t.TempDir(), demoConfig(t, embedded, e2eInterval))
			h.waitLog(`banner for user=alice is \"welcome\"`, 10*time.Second)
			pids := h.pluginPIDs()
			if len(pids) == 0 {
				t.Fatal("no process plugin pid in the status")
			}
			for name, pid := range pids {
				pg, err := syscall.Getpgid(pid)
				if err != nil {
					t.Fatal(err)
				}
				if pg == h.cmd.Process.Pid {
					t.Errorf("plugin %s shares the host's process group", name)
				}
			}
			start := time.Now()
			// startHost made the host a group leader: -pid is its group.
			if err := syscall.Kill(-h.cmd.Process.Pid, sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-h.exited:
			case <-time.After(10 * time.Second):
				t.Fatal("host did not exit within 10s")
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("shutdown took %v", took)
			}
			if h.err != nil {
				t.Errorf("exit: %v", h.err)
			}
			out := h.out.String()
			if !strings.Contains(out, `msg="banner closing"`) {
				t.Error("the process plugin did not get the closing event")
			}
			if strings.Contains(out, "crashed") {
				t.Error("a plugin process died before the host stopped it")
			}
			for name, pid := range pids {
				if alive(pid) {
					t.Errorf("plugin %s (pid %d) outlived the host", name, pid)
				}
			}
		})
	}
}
