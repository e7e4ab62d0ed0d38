package heksher

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/internal/wire"
)

// watchServer is a compatible server holding the int setting "x" (default
// 1, configurable by "user").
func watchServer(t *testing.T, opts ...hekshertest.Option) *hekshertest.Server {
	t.Helper()
	return hekshertest.NewServer(t, append([]hekshertest.Option{hekshertest.WithContextFeatures("user"),
		hekshertest.WithSettings(hekshertest.Setting{Name: "x", Type: "int", Default: 1, ConfigurableFeatures: []string{"user"}})},
		opts...)...)
}

// watchClient is a main client of url with x declared, hooked by h.
func watchClient(t *testing.T, url string, interval time.Duration, h Hook, opts ...Option) (*Client, *Setting[int64]) {
	t.Helper()
	freshMain(t)
	x := mustSetting(t, "x", Int(), []string{"user"}, int64(0))
	_, log := newLogCapture()
	opts = append([]Option{WithLogger(log), WithHooks(h)}, opts...)
	c, err := NewClient(url, interval, []string{"user"}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.TrackContexts(map[string][]string{"user": {TrackAll}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	return c, x
}

// withWatchWait sets the longest wait the client asks for (default
// DefaultWatchWait).
func withWatchWait(d time.Duration) Option { return func(c *config) { c.watchWait = d } }

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// watches returns the query requests the server received that asked to be
// held.
func watches(srv *hekshertest.Server) (n int) {
	for _, r := range srv.Requests() {
		if r.Path == "/"+wire.PathQuery && r.Header.Get(wire.HeaderPrefer) != "" {
			n++
		}
	}
	return n
}

// A rule change reaches a watching client at once: its interval is an
// hour, so only the watch can bring it.
func TestWatch_ChangeArrivesWithoutPolling(t *testing.T) {
	srv := watchServer(t)
	h := newRecHook()
	c, x := watchClient(t, srv.URL, time.Hour, h)
	waitFor(t, "a watch is sent", func() bool { return watches(srv) >= 1 })

	start := time.Now()
	if _, err := srv.AddRule("x", map[string]string{"user": "a"}, 7); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the change arrives", func() bool { return mustGet(t, x, map[string]string{"user": "a"}) == 7 })
	t.Logf("a rule change reached the client in %v", time.Since(start))
	ch := h.waitKind(t, event.KindSettingChanged, 1)[0].(*event.SettingChanged)
	if ch.Setting != "x" {
		t.Fatalf("changed %q", ch.Setting)
	}
	// One UpdateOK per answered query: the first update's and the watch's.
	oks := h.waitKind(t, event.KindUpdateOK, 2)
	if ok := oks[1].(*event.UpdateOK); ok.NotModified || len(ok.Changed) != 1 {
		t.Fatalf("second UpdateOK %+v", ok)
	}
	if st := c.Status(); st.ConsecutiveFailures != 0 || st.LastResult != ResultOK {
		t.Fatalf("status %+v", st)
	}
	// The next watch follows.
	waitFor(t, "the next watch", func() bool { return watches(srv) >= 2 })
	if kinds := h.kinds(event.SetOf(event.KindUpdateError)); len(kinds) != 0 {
		t.Fatalf("update errors: %v", kinds)
	}
}

// Against a server that does not advertise the watch (the real service,
// emulated), or with WithoutWatch, the client polls every interval with
// plain queries.
func TestWatch_FallbackPolls(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server []hekshertest.Option
		client []Option
	}{
		{name: "server without the watch", server: []hekshertest.Option{hekshertest.WithoutWatch()}},
		{name: "client WithoutWatch", client: []Option{WithoutWatch()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := watchServer(t, tc.server...)
			const interval = 150 * time.Millisecond
			watchClient(t, srv.URL, interval, NopHook{}, tc.client...)
			var qs []hekshertest.Request
			waitFor(t, "four polls", func() bool {
				qs = qs[:0]
				for _, r := range srv.Requests() {
					if r.Path == "/"+wire.PathQuery {
						qs = append(qs, r)
					}
				}
				return len(qs) >= 4
			})
			for i, r := range qs {
				if r.Header.Get(wire.HeaderPrefer) != "" {
					t.Fatalf("query %d asked for a watch: %v", i, r.Header)
				}
				if i > 0 && r.Time.Sub(qs[i-1].Time) < interval {
					t.Fatalf("queries %d and %d %v apart, under the interval", i-1, i, r.Time.Sub(qs[i-1].Time))
				}
			}
		})
	}
}

// hostile is a server that advertises the watch and misbehaves as answer
// says; it counts the queries.
type hostile struct {
	queries atomic.Int64
	answer  func(w http.ResponseWriter, r *http.Request, n int64)
}

func (h *hostile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/api/v1/context_features":
		_, _ = w.Write([]byte(`{"context_features":["user"]}`))
	case "/api/v1/settings/declare":
		_, _ = w.Write([]byte(`{"outcome":"uptodate"}`))
	case "/api/v1/query":
		n := h.queries.Add(1)
		w.Header().Set(wire.HeaderWatch, "wait=60")
		h.answer(w, r, n)
	default:
		http.NotFound(w, r)
	}
}

func body(v int64) (string, string) {
	b := `{"settings":{"x":{"default_value":` + strconv.FormatInt(v, 10) + `,"rules":[]}}}`
	sum := md5.Sum([]byte(b))
	return b, `"` + hex.EncodeToString(sum[:]) + `"`
}

// A server that advertises the watch and then answers at once, holds
// forever, or answers garbage never makes the client spin: watches are
// spaced (one a second, or one per 100 ms while every answer brings new
// data), a hold is bounded by the request timeout plus the wait, and a
// failure falls back to the interval.
func TestWatch_HostileServer(t *testing.T) {
	for _, tc := range []struct {
		name string
		// answer serves the n-th query (the first is SetAsMain's).
		answer func(w http.ResponseWriter, r *http.Request, n int64)
		// maxPerSecond bounds the queries after the first.
		maxPerSecond float64
		wantErrors   bool
	}{
		{name: "304 at once", maxPerSecond: 1, answer: func(w http.ResponseWriter, r *http.Request, n int64) {
			b, tag := body(1)
			w.Header().Set("ETag", tag)
			if n > 1 {
				w.Header().Set("Preference-Applied", "wait=60")
				w.WriteHeader(http.StatusNotModified)
				return
			}
			_, _ = w.Write([]byte(b))
		}},
		{name: "new data at once, every time", maxPerSecond: 10, answer: func(w http.ResponseWriter, r *http.Request, n int64) {
			b, tag := body(n)
			w.Header().Set("ETag", tag)
			w.Header().Set("Preference-Applied", "wait=60")
			_, _ = w.Write([]byte(b))
		}},
		{name: "304 at once, watch not applied", maxPerSecond: 0, answer: func(w http.ResponseWriter, r *http.Request, n int64) {
			b, tag := body(1)
			w.Header().Set("ETag", tag)
			if n > 1 {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			_, _ = w.Write([]byte(b))
		}},
		{name: "garbage", maxPerSecond: 0, wantErrors: true, answer: func(w http.ResponseWriter, r *http.Request, n int64) {
			b, tag := body(1)
			w.Header().Set("ETag", tag)
			if n > 1 {
				b = `{"settings": [garbage`
			}
			_, _ = w.Write([]byte(b))
		}},
		{name: "holds forever", maxPerSecond: 0, wantErrors: true, answer: func(w http.ResponseWriter, r *http.Request, n int64) {
			b, tag := body(1)
			w.Header().Set("ETag", tag)
			if n > 1 {
				<-r.Context().Done()
				return
			}
			_, _ = w.Write([]byte(b))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &hostile{answer: tc.answer}
			srv := httptest.NewServer(h)
			defer srv.Close()
			rec := newRecHook()
			start := time.Now()
			// A wait of a second, so that a hold ends within the test.
			c, _ := watchClient(t, srv.URL, time.Hour, rec, WithRequestTimeout(200*time.Millisecond), withWatchWait(time.Second))
			if tc.wantErrors {
				rec.waitKind(t, event.KindUpdateError, 1)
			}
			for time.Since(start) < 2500*time.Millisecond {
				time.Sleep(50 * time.Millisecond)
			}
			elapsed := time.Since(start)
			_ = c.Close()
			n := h.queries.Load()
			// The first query, the first watch, then one per spacing.
			if limit := 2 + int64(tc.maxPerSecond*elapsed.Seconds()); n > limit {
				t.Fatalf("%d queries in %v, want at most %d", n, elapsed, limit)
			}
		})
	}
}

// The wait asked for: at most the server's, DefaultWatchWait, and under
// half the HTTP client's own timeout; in whole seconds.
func TestWatchWait(t *testing.T) {
	for _, tc := range []struct {
		name       string
		advertised time.Duration
		hcTimeout  time.Duration
		noWatch    bool
		want       time.Duration
	}{
		{"server longer", 60 * time.Second, 0, false, DefaultWatchWait},
		{"server shorter", 5 * time.Second, 0, false, 5 * time.Second},
		{"http timeout", 60 * time.Second, 9 * time.Second, false, 4 * time.Second},
		{"http timeout too short", 60 * time.Second, time.Second, false, 0},
		{"not advertised", 0, 0, false, 0},
		{"off", 60 * time.Second, 0, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []Option{WithHTTPClient(&http.Client{Timeout: tc.hcTimeout})}
			if tc.noWatch {
				opts = append(opts, WithoutWatch())
			}
			c, _ := newTestClient(t, "http://heksher.invalid", nil, opts...)
			if got := c.watchWait(tc.advertised); got != tc.want {
				t.Fatalf("watchWait(%v) = %v, want %v", tc.advertised, got, tc.want)
			}
		})
	}
}

func TestParseWatch(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"wait=60", time.Minute},
		{" WAIT = 5 ", 5 * time.Second},
		{"x=1, wait=2;y", 2 * time.Second},
		{"wait=0", 0},
		{"wait=-3", 0},
		{"wait=soon", 0},
		{"", 0},
		{"wait=99999999999", time.Hour},
	} {
		if got := parseWatch(tc.in); got != tc.want {
			t.Errorf("parseWatch(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// The request timeout does not cut a watch: the deadline of a watch is
// the timeout plus the wait.
func TestWatch_DeadlineExtended(t *testing.T) {
	srv := watchServer(t, hekshertest.WithWatchLimits(time.Second, 0))
	h := newRecHook()
	watchClient(t, srv.URL, time.Hour, h, WithRequestTimeout(300*time.Millisecond))
	oks := h.waitKind(t, event.KindUpdateOK, 3) // the first update, then two watches that ran out
	for _, e := range oks[1:] {
		if ok := e.(*event.UpdateOK); !ok.NotModified || ok.Duration < time.Second {
			t.Fatalf("watch %+v: answered before its wait", ok)
		}
	}
	if kinds := h.kinds(event.SetOf(event.KindUpdateError)); len(kinds) != 0 {
		t.Fatalf("update errors: %v", kinds)
	}
}

// A Reload while a watch is held does not wait for the watch: it ends it
// and runs a plain update at once; the abandoned watch reports nothing.
// A setting declared while a watch is held gets its values at once too.
func TestWatch_ReloadAndNewSettingEndTheWatch(t *testing.T) {
	srv := watchServer(t, hekshertest.WithSettings(hekshertest.Setting{Name: "y", Type: "int", Default: 0, ConfigurableFeatures: []string{"user"},
		Rules: []hekshertest.Rule{{Conditions: map[string]string{"user": "a"}, Value: 6}}}))
	h := newRecHook()
	c, _ := watchClient(t, srv.URL, time.Hour, h)
	waitFor(t, "a watch is sent", func() bool { return watches(srv) >= 1 })
	start := time.Now()
	if err := c.Reload(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Fatalf("Reload took %v: it waited for the watch", took)
	}
	if n := len(h.waitKind(t, event.KindUpdateOK, 2)); n != 2 {
		t.Fatalf("%d UpdateOK", n)
	}

	waitFor(t, "the next watch", func() bool { return watches(srv) >= 2 })
	y := mustSetting(t, "y", Int(), []string{"user"}, int64(0))
	defer func() {
		if t.Failed() {
			for _, r := range srv.Requests() {
				t.Logf("%s %s %s %v %s", r.Time.Format("05.000"), r.Path, r.RawQuery, r.Header, r.Body)
			}
		}
	}()
	waitFor(t, "y's values arrive", func() bool {
		v, _ := y.Get(context.Background(), map[string]string{"user": "a"})
		return v == 6
	})
	if kinds := h.kinds(event.SetOf(event.KindUpdateError)); len(kinds) != 0 {
		t.Fatalf("update errors: %v", kinds)
	}
}

// Past the server's cap on watches, a client's watch is answered as a
// plain query: it falls back to polling at its interval, without spinning.
func TestWatch_OverTheCap(t *testing.T) {
	srv := watchServer(t, hekshertest.WithWatchLimits(0, 1))
	// Someone else holds the only watch.
	first, err := srv.Client().Get(srv.URL + "/api/v1/query")
	if err != nil {
		t.Fatal(err)
	}
	first.Body.Close()
	ctx, cancel := context.WithCancel(context.Background())
	held := make(chan struct{})
	go func() {
		defer close(held)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/query", nil)
		req.Header.Set("If-None-Match", first.Header.Get("ETag"))
		req.Header.Set(wire.HeaderPrefer, "wait=60")
		if resp, err := srv.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	defer func() { cancel(); <-held }()
	waitFor(t, "the other watch is held", func() bool { return watches(srv) >= 1 })

	watchClient(t, srv.URL, time.Hour, NopHook{}, WithHeader("X-Client", "b"))
	fromB := func() (n int) {
		for _, r := range srv.Requests() {
			if r.Path == "/"+wire.PathQuery && r.Header.Get("X-Client") == "b" {
				n++
			}
		}
		return n
	}
	waitFor(t, "the client asks for a watch", func() bool { return fromB() >= 2 })
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := fromB(); n != 2 {
		t.Fatalf("the client sent %d queries: over the cap it should poll at its interval (an hour)", n)
	}
}

// An update split into several queries (WithMaxQueryURL) never watches: it
// polls at the interval, each query with its own ETag.
func TestWatch_SplitPolls(t *testing.T) {
	srv := seededServer(t, 40)
	c, _ := trackingClient(t, srv, 40, WithMaxQueryURL(400))
	ctx := ctxT(t)
	if err := c.attempt(ctx); err != nil {
		t.Fatal(err)
	}
	srv.ResetRequests()
	res, err, abandoned := c.attemptWith(ctx, 5*time.Second)
	if err != nil || abandoned {
		t.Fatal(err, abandoned)
	}
	qs := queries(srv)
	if len(qs) < 2 {
		t.Fatalf("%d queries: not split", len(qs))
	}
	for _, r := range srv.Requests() {
		if r.Header.Get(wire.HeaderPrefer) != "" {
			t.Fatalf("a split query asked for a watch: %s", r.RawQuery)
		}
	}
	if next := c.afterAttempt(res, nil, true, time.Now()); next.wait != 0 || next.pause != c.interval {
		t.Fatalf("after a split update: %+v, want a plain query after the interval", next)
	}
}
