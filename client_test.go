package heksher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestNewClient_Validation(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		interval time.Duration
		opts     []Option
		wantErr  string
	}{
		{name: "ok", url: "http://h/prefix", interval: time.Second},
		{name: "relative url", url: "/x", interval: time.Second, wantErr: "absolute http"},
		{name: "bad scheme", url: "ftp://h", interval: time.Second, wantErr: "absolute http"},
		{name: "zero interval", url: "http://h", interval: 0, wantErr: "interval"},
		{name: "bad timeout", url: "http://h", interval: time.Second, opts: []Option{WithRequestTimeout(-1)}, wantErr: "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(tc.url, tc.interval, []string{"a", "b", "a"}, tc.opts...)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.Join(c.ContextFeatures(), ","); got != "a,b" {
					t.Fatalf("features = %s, want duplicates removed", got)
				}
				if err := c.Close(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestClient_EndpointsAppendToBase(t *testing.T) {
	// As in heksher-py, every path is appended to the base URL, prefix included.
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.Path)
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL+"/prefix/", time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.Ping(context.Background())
	if len(got) != 1 || got[0] != "/prefix/api/health" {
		t.Fatalf("paths = %v", got)
	}
}

// B26: a client with no settings becomes main against a matching server and
// closes without error; Close is idempotent and works before SetAsMain.
func TestB26_InitWorks(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a", "b", "c")
	c, lc := newTestClient(t, f.URL(), []string{"a", "b", "c"})
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if MainClient() != c {
		t.Fatal("client is not main")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n := lc.countAtLeast(slog.LevelWarn); n != 0 {
		t.Fatalf("%d warnings or errors, want none (features match):\n%s", n, lc.dump())
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if MainClient() != c {
		t.Fatal("Close vacated the main slot")
	}
	c2, _ := newTestClient(t, f.URL(), nil)
	if err := c2.Close(); err != nil {
		t.Fatal("Close before SetAsMain:", err)
	}
}

func TestClient_LifecycleErrors(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	c, _ := newTestClient(t, f.URL(), []string{"a"})
	if err := c.Reload(ctxT(t)); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Reload before main = %v, want ErrNotRunning", err)
	}
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAsMain(ctxT(t)); !errors.Is(err, ErrAlreadyMain) {
		t.Fatalf("second SetAsMain = %v, want ErrAlreadyMain", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(ctxT(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reload after Close = %v, want ErrClosed", err)
	}
	c2, _ := newTestClient(t, f.URL(), []string{"a"})
	_ = c2.Close()
	if err := c2.SetAsMain(ctxT(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetAsMain after Close = %v, want ErrClosed", err)
	}
}

// deadURL returns the URL of a server that was closed: connections are
// refused.
func deadURL(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

// B30 and B31: an unreachable service makes SetAsMain fail with a transport
// error; the context-feature failure and the declaration failure are logged;
// Get serves the default; nothing keeps running.
func TestB30_B31_Unreachable(t *testing.T) {
	freshMain(t)
	s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 50)
	c, lc := newTestClient(t, deadURL(t), []string{"a", "b", "c"})
	err := c.SetAsMain(ctxT(t))
	var re *RequestError
	if !errors.As(err, &re) || !strings.Contains(re.URL, "/api/v1/query") {
		t.Fatalf("SetAsMain = %v, want a *RequestError for the query", err)
	}
	if lc.count(slog.LevelError, "^failure .+") != 1 || !lc.has(slog.LevelError, "^failure to get context_features from heksher service$") {
		t.Fatalf("want one context-feature failure logged:\n%s", lc.dump())
	}
	// B31: the pending setting's declaration failure, about it; at DEBUG,
	// because the context-feature check already reported the same refusal
	// (one failure, one line: a deliberate deviation, docs/CONFORMANCE.md).
	fails := lc.attrs(slog.LevelDebug, ".+ failed$")
	if len(fails) != 1 || fails[0]["setting"] != "cache_size" || fails[0]["error"] == "" {
		t.Fatalf("declaration failures logged = %v, want one for cache_size with its error:\n%s", fails, lc.dump())
	}
	if got := mustGet(t, s, map[string]string{"b": "", "c": ""}); got != 50 {
		t.Fatalf("Get = %d, want 50", got)
	}
	if st := c.Status(); st.Running || st.LastResult != ResultError {
		t.Fatalf("status = %+v", st)
	}
	if MainClient() != c {
		t.Fatal("the failed client left the main slot; it stays there, closed")
	}
	if err := c.Reload(ctxT(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reload after the failed start = %v, want ErrClosed (the client was closed)", err)
	}
	if c.Tracked() != nil && len(c.Tracked()) != 0 {
		t.Fatalf("tracked = %v, want none (declaration failed)", c.Tracked())
	}
}

// A service that accepts connections but never answers: SetAsMain returns
// when the caller's context ends, with that error wrapped, and leaves nothing
// running (goleak checks it in TestMain).
func TestSetAsMain_SlowServiceHonoursContext(t *testing.T) {
	freshMain(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	mustSetting(t, "slow_setting", Int(), []string{"a"}, 1)
	c, _ := newTestClient(t, srv.URL, []string{"a"})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.SetAsMain(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SetAsMain = %v, want DeadlineExceeded wrapped", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("SetAsMain did not return promptly")
	}
	if c.Status().Running {
		t.Fatal("client still running after a failed start")
	}
}

// B32: a context-feature list that differs from the server's (as an ordered
// list) only warns; the client keeps its own list.
func TestB32_ContextFeatureMismatch(t *testing.T) {
	for _, feats := range [][]string{{}, {"a"}, {"b", "a"}, {"a", "b", "c", "d"}, {"e", "f", "g"}} {
		t.Run(strings.Join(feats, ","), func(t *testing.T) {
			freshMain(t)
			f := newFakeServer(t, "a", "b", "c")
			c, lc := newTestClient(t, f.URL(), feats)
			if err := c.SetAsMain(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if lc.count(slog.LevelWarn, "^context feature mismatch$") != 1 || lc.countAtLeast(slog.LevelWarn) != 1 {
				t.Fatalf("want exactly one warning, the mismatch:\n%s", lc.dump())
			}
			w := lc.attrs(slog.LevelWarn, "^context feature mismatch$")[0]
			if w["service"] != "[a b c]" || w["client"] != fmt.Sprint(feats) {
				t.Fatalf("mismatch warning lists %v, want both lists", w)
			}
			if strings.Join(c.ContextFeatures(), ",") != strings.Join(feats, ",") {
				t.Fatalf("features = %v", c.ContextFeatures())
			}
		})
	}
}

// B41: Ping.
func TestB41_Ping(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		dead    bool
		wantErr bool
	}{
		{name: "ok", status: 200},
		{name: "forbidden", status: 403, wantErr: true},
		{name: "unhealthy", status: 500, wantErr: true},
		{name: "unreachable", dead: true, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t)
			f.health = tc.status
			u := f.URL()
			if tc.dead {
				u = deadURL(t)
			}
			c, _ := newTestClient(t, u, nil)
			err := c.Ping(ctxT(t))
			if (err != nil) != tc.wantErr {
				t.Fatalf("Ping = %v", err)
			}
			var he *HTTPError
			if tc.status >= 400 && (!errors.As(err, &he) || he.StatusCode != tc.status) {
				t.Fatalf("Ping = %v, want *HTTPError %d", err, tc.status)
			}
			var re *RequestError
			if tc.dead && (!errors.As(err, &re) || !strings.HasSuffix(re.URL, "/api/health")) {
				t.Fatalf("Ping = %v, want a *RequestError for /api/health", err)
			}
		})
	}
}

// B43: GetSettings maps every field; a null default is accepted; a missing
// field is a *DecodeError.
func TestB43_GetSettings(t *testing.T) {
	body := `{"settings":[{"name":"foo","type":"int","default_value":5,"version":"1.0","configurable_features":["a","b"],"metadata":{},"aliases":[]},` +
		`{"name":"bar","type":"str","default_value":null,"version":"2.1","configurable_features":["a"],"metadata":{"k":"v"},"aliases":["baz"]}]}`
	var gotQuery, gotPath string
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery, gotPath = r.URL.RawQuery, r.URL.Path
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL, nil)
	got, err := c.GetSettings(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if gotPath != "/api/v1/settings" || gotQuery != "include_additional_data=true" {
		t.Fatalf("request = %s?%s", gotPath, gotQuery)
	}
	foo := got["foo"]
	if foo.Name != "foo" || foo.Type != "int" || string(foo.DefaultValue) != "5" || foo.Version != "1.0" ||
		strings.Join(foo.ConfigurableFeatures, ",") != "a,b" || len(foo.Metadata) != 0 || len(foo.Aliases) != 0 {
		t.Fatalf("foo = %+v", foo)
	}
	bar := got["bar"]
	if string(bar.DefaultValue) != "null" || bar.Metadata["k"] != "v" || bar.Aliases[0] != "baz" || bar.Version != "2.1" {
		t.Fatalf("bar = %+v", bar)
	}
	if len(got) != 2 {
		t.Fatalf("got %d settings, want 2", len(got))
	}
	// A missing default is null too; unknown fields are ignored.
	body = `{"settings":[{"name":"nodef","type":"int","version":"1.0","configurable_features":[],"metadata":{},"aliases":[],"extra":1}],"more":true}`
	got, err = c.GetSettings(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if nd := got["nodef"]; string(nd.DefaultValue) != "null" || nd.Name != "nodef" {
		t.Fatalf("nodef = %+v", nd)
	}
	// Any other missing field is an error that says where.
	for _, field := range []string{"name", "type", "version", "configurable_features", "metadata", "aliases"} {
		item := map[string]any{"name": "foo", "type": "int", "version": "1.0", "configurable_features": []string{}, "metadata": map[string]any{}, "aliases": []string{}, "default_value": 1}
		delete(item, field)
		b, _ := json.Marshal(map[string]any{"settings": []any{item}})
		body = string(b)
		_, err = c.GetSettings(ctxT(t))
		var de *DecodeError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "settings[0]") || !strings.Contains(err.Error(), field) {
			t.Fatalf("GetSettings without %s = %v", field, err)
		}
	}
	// A non-2xx answer is an *HTTPError.
	status = http.StatusForbidden
	_, err = c.GetSettings(ctxT(t))
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusForbidden {
		t.Fatalf("GetSettings on 403 = %v", err)
	}
}

func TestClient_HeadersAndHTTPClient(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer srv.Close()
	hc := &http.Client{Timeout: 5 * time.Second}
	c, _ := newTestClient(t, srv.URL, nil, WithHTTPClient(hc), WithHeader("Authorization", "Bearer x"),
		WithHeaders(http.Header{"X-Team": {"a", "b"}}))
	if err := c.Ping(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got.Get("Authorization") != "Bearer x" || strings.Join(got.Values("X-Team"), ",") != "a,b" {
		t.Fatalf("headers = %v", got)
	}
	hc.CloseIdleConnections()
}

// Close racing SetAsMain: whatever wins, nothing panics, SetAsMain returns,
// and no goroutine outlives the client (goleak in TestMain).
func TestClient_CloseRacesSetAsMain(t *testing.T) {
	for range 20 {
		freshMain(t)
		f := newFakeServer(t, "a")
		mustSetting(t, "x", Int(), []string{"a"}, 1)
		c, _ := newTestClient(t, f.URL(), []string{"a"})
		done := make(chan error, 1)
		go func() { done <- c.SetAsMain(ctxT(t)) }()
		_ = c.Close()
		err := <-done
		if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, context.Canceled) {
			t.Fatalf("SetAsMain = %v", err)
		}
		if c.Status().Running {
			t.Fatal("running after Close")
		}
	}
}

// NewFeatures on a client warns with that client's configuration and
// resolves like Get.
func TestClient_NewFeatures(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	f.setData("x", "1", [2]string{"5", "a=v"})
	x := mustSetting(t, "x", Int(), []string{"a"}, 0)
	c, lc := newTestClient(t, f.URL(), []string{"a"})
	mustNil(t, c.TrackContexts(map[string][]string{"a": {"v"}}))
	mustNil(t, c.SetAsMain(ctxT(t)))
	c.NewFeatures(ctxT(t), map[string]string{"a": "v", "zz": "1"})
	if !lc.has(slog.LevelWarn, "^context features are not specified in server$") {
		t.Fatalf("no warning:\n%s", lc.dump())
	}
	fs := c.NewFeatures(ctxT(t), map[string]string{"a": "v"})
	if got, err := x.GetFor(ctxT(t), fs); err != nil || got != 5 {
		t.Fatalf("GetFor = %d, %v", got, err)
	}
}
