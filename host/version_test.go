package host

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/heksher-go/heksher/internal/version"
)

// TestStatusAPIShowsVersion checks that /api/v1/status carries the version
// that heksher-host -version prints.
func TestStatusAPIShowsVersion(t *testing.T) {
	h := startHost(t, testConfig(t))
	resp, err := http.Get(h.AdminURL() + "/api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	if got, want := body["version"], version.String(); got != want || want == "" {
		t.Errorf(`/api/v1/status "version" = %v, want %q`, got, want)
	}
}
