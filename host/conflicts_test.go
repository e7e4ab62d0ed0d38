package host

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/host/admin"
	"github.com/heksher-go/heksher/host/config"
)

// discountService is a Heksher service that has "discount" as an int.
func discountService(t *testing.T) *hekshertest.Server {
	t.Helper()
	return hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"),
		hekshertest.WithSettings(hekshertest.Setting{Name: "discount", Type: "int", ConfigurableFeatures: []string{"user"}, Default: 0}))
}

// discountAsStr declares "discount" as a str, which the service refuses.
func discountAsStr() map[string]any {
	return map[string]any{"name": "discount", "type": "str", "features": []string{"user"}, "default": json.RawMessage(`"none"`)}
}

// statusJSON returns the plugin named name in the admin server's status.
func statusJSON(t *testing.T, h *Host, name string) (admin.PluginStatus, bool) {
	t.Helper()
	resp, err := http.Get(h.AdminURL() + "api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var s admin.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("status: %v: %s", err, b)
	}
	for _, p := range s.Plugins {
		if p.Name == name {
			return p, true
		}
	}
	return admin.PluginStatus{}, false
}

// waitPlugin waits, up to a minute, until the plugin's status satisfies ok.
func waitPlugin(t *testing.T, h *Host, name string, ok func(admin.PluginStatus) bool) admin.PluginStatus {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		p, found := statusJSON(t, h, name)
		if found && ok(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugin %s in a minute: %+v (found %v)", name, p, found)
		}
		if !h.Ready() {
			t.Fatal("the host is not ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A plugin declares discount as a str where the service has an int. The
// conflict is the plugin's: its status lists it (status JSON and page), an
// ERROR line names it, and it receives the declared event for discount
// with the conflict; it keeps running, the host ready.
func TestDeclarationConflictAttributed(t *testing.T) {
	srv := discountService(t)
	var log logLines
	h := initHost(t, srv.URL, t.TempDir(), t.TempDir(), &log, initGuestConfig(false, discountAsStr()))
	p := waitPlugin(t, h, "p", func(p admin.PluginStatus) bool { return len(p.Conflicts) > 0 })
	if p.State != "running" || !strings.Contains(p.Conflicts[0], "discount") {
		t.Errorf("plugin status %+v", p)
	}
	log.waitFor(t, 1, "level=ERROR", `msg="a plugin's declaration conflicts with the service's"`, "plugin=p", "setting=discount")
	log.waitFor(t, 1, `msg="declared discount outcome=mismatch error=heksher: setting discount conflicts with the service's declaration`, "plugin=p")
	resp, err := http.Get(h.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `class="bad conflict">declaration conflict: heksher: setting discount`) {
		t.Errorf("the status page does not show the conflict on the plugin")
	}
	if !h.Ready() {
		t.Error("not ready")
	}
	// Once, not once per lookup or update.
	if n := log.count(`msg="a plugin's declaration conflicts with the service's"`, "plugin=p"); n != 1 {
		t.Errorf("%d conflict lines for the plugin, want 1", n)
	}
}

// With on_declaration_conflict: unload, the plugin is unloaded once the
// service has answered: it receives a closing event saying it is removed,
// and its status says stopped and why; the host
// stays ready, and a plugin beside it keeps running.
func TestDeclarationConflictUnload(t *testing.T) {
	srv := discountService(t)
	var log logLines
	h := initHost(t, srv.URL, t.TempDir(), t.TempDir(), &log, initGuestConfig(false, discountAsStr()), func(c *config.Config) {
		c.Plugins[0].OnDeclarationConflict = config.OnConflictUnload
		c.Plugins = append(c.Plugins, config.Plugin{Name: "other", Kind: "wasm", Path: c.Plugins[0].Path,
			Config: initGuestConfig(false), StartTimeout: config.Duration(time.Minute)})
	})
	p := waitPlugin(t, h, "p", func(p admin.PluginStatus) bool { return p.State == "stopped" })
	if !strings.Contains(p.LastError, "unloaded") || !strings.Contains(p.LastError, "discount") || len(p.Conflicts) == 0 {
		t.Errorf("unloaded plugin's status %+v", p)
	}
	log.waitFor(t, 1, `msg="plugin unloaded for a declaration conflict"`, "plugin=p")
	log.waitFor(t, 1, `msg="closing reason=removed"`, "plugin=p")
	if got := pluginStates(h); !strings.Contains(got, "other:running") || !h.Ready() {
		t.Errorf("plugins %s, ready %v", got, h.Ready())
	}
}
