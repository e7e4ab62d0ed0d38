package host

import (
	"context"
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
	cfg.Relay = config.Relay{Enabled: true, Listen: "127.0.0.1:0", Interval: config.Duration(50 * time.Millisecond), MaxWatchers: 1}
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
	for _, m := range []string{"heksher_host_relay_snapshot_age_seconds", "heksher_host_relay_upstream_up 1", "heksher_host_relay_settings 1", "heksher_host_relay_watchers 0"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %q", m)
		}
	}

	// relay.max_watchers reaches the relay: with one watch held, a second
	// is answered at once, not held.
	_, _, hdr := get(t, h.RelayURL()+q)
	watch := func(ctx context.Context) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.RelayURL()+q, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("If-None-Match", hdr.Get("ETag"))
		req.Header.Set("Prefer", "wait=60")
		return http.DefaultClient.Do(req)
	}
	held, release := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := watch(held); err == nil {
			resp.Body.Close()
		}
	}()
	eventually(t, "the first watch to be held", func() bool {
		_, m, _ := get(t, h.AdminURL()+"metrics")
		return strings.Contains(m, "heksher_host_relay_watchers 1")
	})
	resp, err := watch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified || resp.Header.Get("Preference-Applied") != "" {
		t.Errorf("a watch past relay.max_watchers: %d, Preference-Applied %q; want 304 answered at once", resp.StatusCode, resp.Header.Get("Preference-Applied"))
	}
	release()
	<-done

	url := h.RelayURL()
	closeHost(t, h)
	if _, err := http.Get(url + q); err == nil {
		t.Error("the relay still answers after Close")
	}
}
