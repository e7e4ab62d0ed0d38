package host

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/host/admin"
)

// A setting the host declares that is deleted on the service is listed in
// the status (API and page).
func TestServiceMissingSetting(t *testing.T) {
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"))
	cfg := testConfig(t)
	cfg.Service.URL = srv.URL
	cfg.Settings = append(cfg.Settings, cfg.Settings[0])
	cfg.Settings[1].Name = "motd"
	h := startHost(t, cfg)
	if err := srv.DeleteSetting("motd"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body, _ := get(t, h.AdminURL()+"api/v1/status")
		var s admin.Snapshot
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatalf("status: %v: %s", err, body)
		}
		if slices.Equal(s.Service.Missing, []string{"motd"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status service %+v, want motd missing", s.Service)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, page, _ := get(t, h.AdminURL()); !strings.Contains(page, `id="banner-missing"`) || !strings.Contains(page, "<code>motd</code>") {
		t.Fatal("the status page does not say motd is missing")
	}
}
