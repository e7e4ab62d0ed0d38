package hekshertest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, srv *hekshertest.Server, path string) (int, string) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func seeded(t *testing.T) *hekshertest.Server {
	t.Helper()
	return hekshertest.NewServer(t,
		hekshertest.WithContextFeatures("user", "trust", "theme"),
		hekshertest.WithSettings(hekshertest.Setting{
			Name: "size_limit", Type: "int", Default: 200, ConfigurableFeatures: []string{"user", "theme"},
			Rules: []hekshertest.Rule{{Conditions: map[string]string{"theme": "bright"}, Value: 10}},
		}))
}

func TestNewServerSeedsState(t *testing.T) {
	t.Parallel()
	srv := seeded(t)
	if _, err := srv.AddRule("size_limit", map[string]string{"user": "me", "theme": "bright"}, 20); err != nil {
		t.Fatal(err)
	}
	status, body := get(t, srv, "/api/v1/query?settings=size_limit")
	want := `{"settings":{"size_limit":{"default_value":200,"rules":[{"value":10,"context_features":[["theme","bright"]],"rule_id":1},{"value":20,"context_features":[["user","me"],["theme","bright"]],"rule_id":2}]}}}`
	if status != 200 || body != want {
		t.Fatalf("query = %d %s", status, body)
	}
}

func TestStateHelpers(t *testing.T) {
	t.Parallel()
	srv := seeded(t)
	tests := []struct {
		name    string
		do      func() error
		wantErr bool
	}{
		{"add feature", func() error { return srv.AddContextFeature("planet") }, false},
		{"add feature twice", func() error { return srv.AddContextFeature("planet") }, true},
		{"declare upgrade", func() error {
			return srv.Declare(hekshertest.Setting{Name: "size_limit", Type: "int", Default: 300,
				ConfigurableFeatures: []string{"user", "theme"}, Version: "1.1"})
		}, false},
		{"set value", func() error { return srv.SetRuleValue(1, 11) }, false},
		{"set bad value", func() error { return srv.SetRuleValue(1, "x") }, true},
		{"delete rule", func() error { return srv.DeleteRule(1) }, false},
		{"delete missing rule", func() error { return srv.DeleteRule(1) }, true},
		{"delete setting", func() error { return srv.DeleteSetting("size_limit") }, false},
	}
	for _, tc := range tests {
		err := tc.do()
		if (err != nil) != tc.wantErr {
			t.Fatalf("%s: err = %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, hekshertest.ErrRejected) {
			t.Fatalf("%s: %v does not match ErrRejected", tc.name, err)
		}
	}
	if _, body := get(t, srv, "/api/v1/settings"); body != `{"settings":[]}` {
		t.Fatalf("settings = %s", body)
	}
}

func TestNewServerBadSeedFails(t *testing.T) {
	t.Parallel()
	ft := &fatalRecorder{TB: t}
	func() {
		defer func() { _ = recover() }()
		hekshertest.NewServer(ft, hekshertest.WithSettings(hekshertest.Setting{Name: "x", Type: "nope", Default: 1,
			ConfigurableFeatures: []string{"user"}}))
	}()
	if !ft.failed {
		t.Fatal("a setting with an invalid type did not fail NewServer")
	}
}

// fatalRecorder records Fatalf instead of stopping the test.
type fatalRecorder struct {
	testing.TB
	failed bool
}

func (f *fatalRecorder) Fatalf(string, ...any) { f.failed = true; panic("fatal") }
func (f *fatalRecorder) Helper()               {}

func TestFaults(t *testing.T) {
	t.Parallel()
	srv := seeded(t)
	onQuery := func(r *http.Request) bool { return r.URL.Path == "/api/v1/query" }

	srv.EnqueueFault(hekshertest.Fault{Match: onQuery, Status: 503, Body: "down"})
	if status, body := get(t, srv, "/api/health"); status != 200 {
		t.Fatalf("unmatched request got %d %s", status, body)
	}
	if status, body := get(t, srv, "/api/v1/query"); status != 503 || body != "down" {
		t.Fatalf("scripted fault got %d %s", status, body)
	}
	if status, _ := get(t, srv, "/api/v1/query"); status != 200 {
		t.Fatalf("fault was not one-shot: %d", status)
	}

	srv.EnqueueFault(hekshertest.Fault{CutBody: true})
	resp, err := srv.Client().Get(srv.URL + "/api/v1/query")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut body read gave %v, want unexpected EOF", err)
	}

	srv.EnqueueFault(hekshertest.Fault{CloseConnection: true})
	if _, err := srv.Client().Get(srv.URL + "/api/v1/query"); err == nil {
		t.Fatal("closed connection gave no error")
	}

	srv.EnqueueFault(hekshertest.Fault{Delay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/query", nil)
	if _, err := srv.Client().Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("delayed request gave %v", err)
	}
	if srv.PendingFaults() != 0 {
		t.Fatalf("%d faults left", srv.PendingFaults())
	}

	srv.EnqueueFault(hekshertest.Fault{Match: onQuery, Status: 500, Times: 2})
	for i, want := range []int{500, 500, 200} {
		if status, _ := get(t, srv, "/api/v1/query"); status != want {
			t.Fatalf("request %d with a twice-repeated fault: %d, want %d", i, status, want)
		}
	}
}

func TestIntercept(t *testing.T) {
	t.Parallel()
	srv := seeded(t)
	var calls int
	var mu sync.Mutex
	srv.Intercept(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		mu.Lock()
		calls++
		mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/api/v1/query") {
			w.Header().Set("X-Seen", "yes")
		}
		next.ServeHTTP(w, r)
	})
	resp, err := srv.Client().Get(srv.URL + "/api/v1/query")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Seen") != "yes" || resp.StatusCode != 200 {
		t.Fatalf("intercept did not run: %v %v", resp.StatusCode, resp.Header)
	}
	srv.Intercept(nil)
	get(t, srv, "/api/health")
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Fatalf("intercept ran %d times, want 1", calls)
	}
}

func TestRequestsRecorded(t *testing.T) {
	t.Parallel()
	srv := seeded(t)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/query?settings=size_limit&context_filters=*", nil)
	req.Header.Set("If-None-Match", `"abc"`)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := srv.Requests()
	if len(got) != 1 {
		t.Fatalf("recorded %d requests", len(got))
	}
	r := got[0]
	if r.Method != "GET" || r.Path != "/api/v1/query" || r.Query.Get("settings") != "size_limit" ||
		r.Query.Get("context_filters") != "*" || r.Header.Get("If-None-Match") != `"abc"` {
		t.Fatalf("recorded %+v", r)
	}
	srv.ResetRequests()
	if len(srv.Requests()) != 0 {
		t.Fatal("ResetRequests kept requests")
	}
}

func TestStopStartAndClose(t *testing.T) {
	t.Parallel()
	srv := seeded(t)
	srv.Stop()
	if _, err := srv.Client().Get(srv.URL + "/api/health"); err == nil {
		t.Fatal("stopped server answered")
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if status, _ := get(t, srv, "/api/v1/rules/1"); status != 200 {
		t.Fatalf("state lost across restart: %d", status)
	}
	srv.Close()
	srv.Close()
	if err := srv.Start(); err == nil {
		t.Fatal("closed server restarted")
	}
}

func TestParallelServers(t *testing.T) {
	t.Parallel()
	a, b := seeded(t), seeded(t)
	if err := a.AddContextFeature("only_a"); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, b, "/api/v1/context_features"); strings.Contains(body, "only_a") {
		t.Fatal("servers share state")
	}
}

func BenchmarkNewServer(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		srv := hekshertest.NewServer(b, hekshertest.WithContextFeatures("user", "trust", "theme"))
		srv.Close()
	}
}

func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	srv := seeded(t)
	query := `{"settings":{"size_limit":{"default_value":200,"rules":[{"value":10,"context_features":[["theme","bright"]],"rule_id":1}]}}}`
	tests := []struct {
		name       string
		down       bool
		path       string
		status     int
		body, ctyp string
	}{
		{"healthy by default", false, "/api/health", 200, `{"version":"0.5.7"}`, "application/json"},
		{"health reports the outage", true, "/api/health", 500, `{"version":"0.5.7"}`, "application/json"},
		{"data endpoints fail", true, "/api/v1/query?settings=size_limit", 500, "Internal Server Error", "text/plain; charset=utf-8"},
		{"validation still answers", true, "/api/v1/query?include_metadata=maybe", 422,
			`{"detail":[{"loc":["query","include_metadata"],"msg":"value could not be parsed to a boolean","type":"type_error.bool"}]}`, "application/json"},
		{"healthy again", false, "/api/health", 200, `{"version":"0.5.7"}`, "application/json"},
		{"state kept", false, "/api/v1/query?settings=size_limit", 200, query, "application/json"},
	}
	for _, tc := range tests {
		srv.SetDatabaseDown(tc.down)
		resp, err := srv.Client().Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || string(b) != tc.body || resp.Header.Get("Content-Type") != tc.ctyp {
			t.Errorf("%s: got %d %q %s, want %d %q %s", tc.name, resp.StatusCode, resp.Header.Get("Content-Type"), b, tc.status, tc.ctyp, tc.body)
		}
	}

	srv.SetDatabaseDown(true)
	_, err := srv.AddRule("size_limit", map[string]string{"user": "me"}, 1)
	var re *hekshertest.RequestError
	if !errors.As(err, &re) || re.Status != 500 || !errors.Is(err, hekshertest.ErrRejected) {
		t.Fatalf("AddRule while down: %v", err)
	}
	srv.SetDatabaseDown(false)
	if id, err := srv.AddRule("size_limit", map[string]string{"user": "me"}, 1); err != nil || id != 2 {
		t.Fatalf("AddRule after the outage = %d, %v; want rule 2 (nothing was added while down)", id, err)
	}
}
