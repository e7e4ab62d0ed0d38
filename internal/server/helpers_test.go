package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// step is one request of a scenario and the exact answer expected.
type step struct {
	method, path, body string
	status             int
	want               string            // exact body; "" with status 204/404-E means empty
	header             map[string]string // headers the request sends
	wantHeader         map[string]string // headers the answer must carry ("" = absent)
}

// startEngine serves a fresh engine over real HTTP.
func startEngine(t *testing.T, opts Options) (*Engine, *httptest.Server) {
	t.Helper()
	eng, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(eng.Handler())
	t.Cleanup(srv.Close)
	return eng, srv
}

// runSteps plays steps in order against srv and checks every answer.
func runSteps(t *testing.T, srv *httptest.Server, steps []step) {
	t.Helper()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for i, s := range steps {
		var body io.Reader
		if s.body != "" {
			body = strings.NewReader(s.body)
		}
		req, err := http.NewRequest(s.method, srv.URL+s.path, body)
		if err != nil {
			t.Fatal(err)
		}
		if s.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range s.header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("step %d %s %s: %v", i, s.method, s.path, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != s.status || string(got) != s.want {
			t.Fatalf("step %d %s %s %s:\n got %d %s\nwant %d %s", i, s.method, s.path, s.body, resp.StatusCode, got, s.status, s.want)
		}
		for k, v := range s.wantHeader {
			if g := resp.Header.Get(k); g != v {
				t.Fatalf("step %d %s %s: header %s = %q, want %q", i, s.method, s.path, k, g, v)
			}
		}
	}
}

const (
	created  = `{"outcome":"created"}`
	uptodate = `{"outcome":"uptodate"}`
)

// declareSizeLimit is the API spec's running example: size_limit v1.0, int,
// configurable by user and theme, default 200, metadata {"testing": true}.
const declareSizeLimit = `{"name":"size_limit","configurable_features":["user","theme"],"type":"int","default_value":200,"metadata":{"testing":true}}`

func decl(fields string) string {
	return `{"name":"size_limit","configurable_features":["user","theme"],"type":"int","default_value":200,"metadata":{"testing":true},` + fields + `}`
}

// seededEngine holds size_limit with rules 1 and 2.
func seededEngine(t *testing.T) *Engine {
	t.Helper()
	eng, err := New(Options{ContextFeatures: []string{"user", "trust", "theme"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sizeLimitWithRules() {
		if status, body := doRaw(t, eng, s.method, s.path, s.body); status != s.status {
			t.Fatalf("seed %s %s: %d %s", s.method, s.path, status, body)
		}
	}
	return eng
}

// doRaw sends body as given, bytes that are not UTF-8 included.
func doRaw(t *testing.T, eng *Engine, method, path, body string) (int, string) {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	status, resp, err := eng.Do(context.Background(), method, path, b)
	if err != nil {
		t.Fatal(err)
	}
	return status, string(resp)
}
