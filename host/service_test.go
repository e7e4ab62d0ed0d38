package host

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/internal/server"
	"github.com/heksher-go/heksher/pluginapi"
)

// Every request to the service carries the configured headers, those read
// from the environment included.
func TestServiceHeaders(t *testing.T) {
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"))
	t.Setenv("HEKSHER_TEST_AUTH", "Bearer from-env")
	cfg := testConfig(t)
	cfg.Service.URL = srv.URL
	cfg.Service.Headers = map[string]string{"X-Team": "payments"}
	cfg.Service.HeadersFromEnv = map[string]string{"Authorization": "HEKSHER_TEST_AUTH"}
	startHost(t, cfg)
	reqs := srv.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request reached the service")
	}
	for _, r := range reqs {
		if r.Header.Get("X-Team") != "payments" || r.Header.Get("Authorization") != "Bearer from-env" {
			t.Errorf("%s %s: headers %v", r.Method, r.Path, r.Header)
		}
	}
}

func TestServiceHeaderFromUnsetEnv(t *testing.T) {
	srv := hekshertest.NewServer(t)
	cfg := testConfig(t)
	cfg.Service.URL = srv.URL
	cfg.Service.HeadersFromEnv = map[string]string{"Authorization": "HEKSHER_TEST_UNSET_VARIABLE"}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(t.Context()); err == nil {
		t.Fatal("an unset header variable must stop the start")
	}
}

// The service over HTTPS, trusted through service.tls.ca_file.
func TestServiceTLS(t *testing.T) {
	eng, err := server.New(server.Options{ContextFeatures: []string{"user", "theme"}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(eng.Handler())
	t.Cleanup(ts.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Service.URL = ts.URL
	cfg.Service.TLS.CAFile = ca
	h := startHost(t, cfg)
	if got := h.Snapshot().Service.Serving; got != "service" {
		t.Fatalf("serving %q over TLS with the CA file, want service", got)
	}

	// Without the CA the certificate is refused, and the host falls back.
	cfg2 := testConfig(t)
	cfg2.Service.URL = ts.URL
	closeHost(t, h)
	h2 := startHost(t, cfg2)
	if got := h2.Snapshot().Service.Serving; got != "defaults" {
		t.Fatalf("serving %q with an untrusted certificate, want defaults", got)
	}
}

func TestAdminTokenFile(t *testing.T) {
	cfg := testConfig(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Admin.TokenFile = tokenFile
	h := startHost(t, cfg)
	cases := []struct {
		name, auth string
		status     int
	}{
		{"no token", "", 401},
		{"wrong token", "Bearer nope", 401},
		{"token from the file", "Bearer s3cret", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", h.AdminURL()+"api/v1/lookup/banner?user=a", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	_, err := New(config.Config{Admin: config.Admin{Listen: "0.0.0.0:7070"}})
	if !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("got %v", err)
	}
}

var _ pluginapi.Settings = (*pluginSettings)(nil)

// The host's own settings reach the service before its first update; the
// plugins load after it (no plugin holds up the values), and the settings
// they declare are declared then, with a query right after that brings
// their values before Start returns.
func TestPluginSettingsDeclaredThenQueried(t *testing.T) {
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"))
	cfg := testConfig(t)
	cfg.Service.URL = srv.URL
	cfg.UpdateInterval = config.Duration(time.Hour) // only the queries the host asks for
	limit := pluginapi.Declaration{Name: "limit", Type: "int", ConfigurableFeatures: []string{"user"}, Default: json.RawMessage(`5`)}
	cfg.Plugins = []config.Plugin{{Name: "a", Kind: "wasm", Path: writeFake(t, t.TempDir(), "a", fakeFile{Kinds: []string{"update_ok"}, Decls: []pluginapi.Declaration{limit}})}}
	var queries []int
	declared := map[string]int{}
	scan := func() {
		queries, declared = nil, map[string]int{}
		for i, r := range srv.Requests() {
			switch {
			case strings.HasSuffix(r.Path, "/query"):
				queries = append(queries, i)
			case strings.HasSuffix(r.Path, "/settings/declare"):
				var body struct {
					Name string `json:"name"`
				}
				if err := json.Unmarshal(r.Body, &body); err == nil {
					if _, seen := declared[body.Name]; !seen {
						declared[body.Name] = i
					}
				}
			}
		}
	}
	startHost(t, cfg, WithLoader("wasm", &fakeLoader{}))
	scan()
	if len(queries) == 0 {
		t.Fatal("no query reached the service")
	}
	if i, ok := declared["banner"]; !ok || i > queries[0] {
		t.Errorf("banner declared at request %d (declared: %v), the first query was request %d", i, ok, queries[0])
	}
	i, ok := declared["limit"]
	if !ok || !slices.ContainsFunc(queries, func(q int) bool { return q > i }) {
		t.Errorf("limit declared at request %d (declared: %v), queries at %v: want one after it", i, ok, queries)
	}
}
