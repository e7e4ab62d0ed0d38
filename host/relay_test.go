package host

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/host/admin"
	"github.com/heksher-go/heksher/host/config"
)

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// TestRelayMode: with relay.enabled the host serves its service's API on
// the relay listener (here the embedded server's), shows the relay in its
// status and metrics, and stops it with the rest.
func TestRelayMode(t *testing.T) {
	cfg := testConfig(t)
	cfg.Relay = config.Relay{Enabled: true, Listen: "127.0.0.1:0", Interval: config.Duration(50 * time.Millisecond)}
	h := startHost(t, cfg)
	if h.RelayURL() == "" {
		t.Fatal("no relay URL")
	}
	q := "/api/v1/query?settings=banner&include_metadata=true"
	eventually(t, "the relay to mirror the service", func() bool {
		ws, wb, wh := get(t, h.ServiceURL()+q)
		gs, gb, gh := get(t, h.RelayURL()+q)
		return ws == http.StatusOK && gs == ws && gb == wb && gh.Get("ETag") == wh.Get("ETag")
	})

	_, body, _ := get(t, h.AdminURL()+"api/v1/status")
	var snap admin.Snapshot
	if err := json.Unmarshal([]byte(body), &snap); err != nil {
		t.Fatal(err)
	}
	if snap.Relay == nil || !snap.Relay.Ready || snap.Relay.URL != h.RelayURL() || snap.Relay.Upstream != h.ServiceURL() {
		t.Errorf("status relay %+v", snap.Relay)
	}
	_, page, _ := get(t, h.AdminURL())
	if !strings.Contains(page, `id="relay"`) {
		t.Error("the status page does not show the relay")
	}
	_, metrics, _ := get(t, h.AdminURL()+"metrics")
	for _, m := range []string{"heksher_host_relay_snapshot_age_seconds", "heksher_host_relay_upstream_up 1", "heksher_host_relay_settings 1"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %q", m)
		}
	}
	url := h.RelayURL()
	closeHost(t, h)
	if _, err := http.Get(url + q); err == nil {
		t.Error("the relay still answers after Close")
	}
}
