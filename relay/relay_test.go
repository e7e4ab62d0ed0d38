package relay_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/internal/wire"
	"github.com/heksher-go/heksher/relay"
)

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// clientGets runs an unchanged Go client against url: it declares
// size_limit, and returns a function reading it for user "me".
func clientGets(t *testing.T, url string) func() int64 {
	t.Helper()
	heksher.ResetMainForTesting()
	t.Cleanup(heksher.ResetMainForTesting)
	s, err := heksher.NewSetting("size_limit", heksher.Int(), []string{"user", "theme"}, 200)
	if err != nil {
		t.Fatal(err)
	}
	c, err := heksher.NewClient(url, 50*time.Millisecond, []string{"user", "trust", "theme"},
		heksher.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.TrackContexts(map[string][]string{"user": {heksher.TrackAll}, "trust": {heksher.TrackAll},
		"theme": {heksher.TrackAll}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.SetAsMain(ctx); err != nil {
		t.Fatal(err)
	}
	return func() int64 {
		v, err := s.Get(context.Background(), map[string]string{"user": "me", "theme": "dark"})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestGoClient: an unchanged Go client pointed at a relay declares a new
// setting (forwarded), reads it at once, and sees a rule change made on the
// service.
func TestGoClient(t *testing.T) {
	up := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "trust", "theme"))
	r, srv := newRelay(t, up.URL, relay.Options{Interval: 50 * time.Millisecond})
	get := clientGets(t, srv.URL())
	if got := get(); got != 200 {
		t.Fatalf("before any rule: %d, want 200", got)
	}
	if _, err := up.AddRule("size_limit", map[string]string{"user": "me"}, 7); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rule through the relay", func() bool { return get() == 7 })
	if st := r.Stats(); st.Forwarded == 0 || st.Settings != 1 {
		t.Errorf("stats %+v: want a forwarded declaration and one setting", st)
	}
}

// TestChain: node relay → regional relay → service behaves as the service:
// a client under two relays declares, reads, sees a rule change, and the
// node's answers equal the service's.
func TestChain(t *testing.T) {
	up := newUpstream(t)
	_, regional := newRelay(t, up.URL, relay.Options{Interval: 50 * time.Millisecond})
	_, node := newRelay(t, regional.URL(), relay.Options{Interval: 50 * time.Millisecond})
	get := clientGets(t, node.URL())
	if got := get(); got != 200 {
		t.Fatalf("got %d, want 200", got)
	}
	if _, err := up.AddRule("size_limit", map[string]string{"user": "me", "theme": "dark"}, 42); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rule two relays down", func() bool { return get() == 42 })
	for _, p := range []string{"/api/v1/query?include_metadata=true", "/api/v1/settings?include_additional_data=true",
		"/api/v1/settings/ratio", "/api/v1/query?settings=nope"} {
		want := do(t, http.MethodGet, up.URL+p, nil, "")
		waitFor(t, "the node to match the service on "+p, func() bool {
			got := do(t, http.MethodGet, node.URL()+p, nil, "")
			return got.status == want.status && got.body == want.body && got.etag == want.etag
		})
	}
	// A declaration that the service refuses comes back as the service
	// answered it.
	body := `{"name":"size_limit","configurable_features":["user","theme"],"type":"int","default_value":300,"version":"1.0"}`
	hj := http.Header{"Content-Type": {"application/json"}}
	want := do(t, http.MethodPost, up.URL+"/api/v1/settings/declare", hj, body)
	got := do(t, http.MethodPost, node.URL()+"/api/v1/settings/declare", hj, body)
	if want.status != http.StatusConflict || got.status != want.status || got.body != want.body {
		t.Errorf("declaration through two relays: %d %s, service: %d %s", got.status, got.body, want.status, want.body)
	}
}

// TestUnknownNameRefresh: a setting declared on the service a moment ago is
// found by a query through the relay at once (one bounded refresh), not at
// the next interval.
func TestUnknownNameRefresh(t *testing.T) {
	up := newUpstream(t)
	r, srv := newRelay(t, up.URL, relay.Options{Interval: time.Hour})
	if err := up.Declare(hekshertest.Setting{Name: "fresh", Type: "int", Default: 5, ConfigurableFeatures: []string{"user"}}); err != nil {
		t.Fatal(err)
	}
	p := "/api/v1/query?settings=fresh,size_limit"
	want := do(t, http.MethodGet, up.URL+p, nil, "")
	got := do(t, http.MethodGet, srv.URL()+p, nil, "")
	if got.status != http.StatusOK || got.body != want.body || got.etag != want.etag {
		t.Fatalf("relay %d %s, service %d %s", got.status, got.body, want.status, want.body)
	}
	// A name nobody declared is answered 404, and the refreshes it
	// triggers are bounded: many requests within the interval cost one.
	before := r.Stats().MissRefreshes
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			a := do(t, http.MethodGet, srv.URL()+"/api/v1/query?settings=never", nil, "")
			if a.status != http.StatusNotFound || a.body != "the following are not setting names: ['never']" {
				t.Errorf("unknown name: %d %q", a.status, a.body)
			}
		})
	}
	wg.Wait()
	if n := r.Stats().MissRefreshes - before; n > 1+50/10 {
		// Without a clock for it, allow a refresh per 1s bound crossed
		// on a slow machine, but far fewer than one per request.
		t.Errorf("%d refreshes for 50 requests of an unknown name", n)
	}
}

// TestUpstreamDown: the last snapshot is served while the upstream is down,
// its age grows, a declaration is answered as the service answers without
// its database, and the relay recovers when the upstream is back.
func TestUpstreamDown(t *testing.T) {
	up := newUpstream(t)
	r, srv := newRelay(t, up.URL, relay.Options{Interval: 50 * time.Millisecond})
	p := "/api/v1/query?include_metadata=true"
	before := do(t, http.MethodGet, srv.URL()+p, nil, "")
	up.Stop()
	waitFor(t, "the relay to notice", func() bool { return r.Stats().Failing })
	age := func() float64 {
		a := do(t, http.MethodGet, srv.URL()+p, nil, "")
		if a.status != before.status || a.body != before.body || a.etag != before.etag {
			t.Fatalf("while down: %d %s, want the last snapshot", a.status, a.body)
		}
		f, err := strconv.ParseFloat(a.header.Get(wire.HeaderSnapshotAge), 64)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	first := age()
	waitFor(t, "the snapshot age to grow", func() bool { return age() > first+0.2 })
	if st := r.Stats(); !st.Ready || st.SnapshotAge < 200*time.Millisecond || st.LastError == "" {
		t.Errorf("stats while down: %+v", st)
	}

	// Declarations: what a compatible server with its database down
	// answers, validation first.
	down := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user"))
	down.SetDatabaseDown(true)
	hj := http.Header{"Content-Type": {"application/json"}}
	for _, body := range []string{
		`{"name":"x","configurable_features":["user"],"type":"int","default_value":1}`,
		`{"name":"x"}`,
		`not json`,
	} {
		want := do(t, http.MethodPost, down.URL+"/api/v1/settings/declare", hj, body)
		got := do(t, http.MethodPost, srv.URL()+"/api/v1/settings/declare", hj, body)
		if got.status != want.status || got.body != want.body || got.ctype != want.ctype {
			t.Errorf("declaration %s while down: %d %q, want %d %q", body, got.status, got.body, want.status, want.body)
		}
	}

	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "recovery", func() bool { st := r.Stats(); return !st.Failing && st.SnapshotAge < time.Second })
}

// TestUpstreamGarbage: answers that are not what they should be leave the
// last good snapshot in place, and a new state is applied only whole. (The
// upstream is polled: a long poll held past the faults would get the real
// answer.)
func TestUpstreamGarbage(t *testing.T) {
	up := newUpstream(t, hekshertest.WithoutWatch())
	r, srv := newRelay(t, up.URL, relay.Options{Interval: 20 * time.Millisecond, RequestTimeout: 300 * time.Millisecond})
	p := "/api/v1/query?include_metadata=true"
	good := do(t, http.MethodGet, srv.URL()+p, nil, "")

	var mu sync.Mutex
	mode := ""
	up.Intercept(func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		mu.Lock()
		m := mode
		mu.Unlock()
		switch {
		case m == "query" && req.URL.Path == "/api/v1/query":
			w.Header().Set("ETag", `"0123"`)
			_, _ = w.Write([]byte(`{"settings": [1, 2`))
		case m == "list" && req.URL.Path == "/api/v1/settings":
			// A list that misses a setting: does not fit the query.
			_, _ = w.Write([]byte(`{"settings":[]}`))
		case m == "500":
			w.WriteHeader(http.StatusInternalServerError)
		case m == "slow":
			select { // past the relay's request timeout
			case <-req.Context().Done():
			case <-time.After(10 * time.Second):
			}
		default:
			next.ServeHTTP(w, req)
		}
	})
	setMode := func(m string) {
		mu.Lock()
		mode = m
		mu.Unlock()
	}
	// A change on the service whose definitions cannot be read must not
	// show half-applied: the rule appears only with a list that fits.
	for i, m := range []string{"query", "list", "500", "slow"} {
		setMode(m)
		if i == 0 {
			if _, err := up.AddRule("size_limit", map[string]string{"user": "half"}, 1); err != nil {
				t.Fatal(err)
			}
		}
		errs := r.Stats().UpstreamErrors
		waitFor(t, "errors counted in mode "+m, func() bool { return r.Stats().UpstreamErrors >= errs+2 })
		a := do(t, http.MethodGet, srv.URL()+p, nil, "")
		if a.status != http.StatusOK || a.body != good.body {
			t.Fatalf("mode %s: relay answered %d %s, want the last good snapshot", m, a.status, a.body)
		}
	}
	setMode("")
	want := do(t, http.MethodGet, up.URL+p, nil, "")
	waitFor(t, "the new state", func() bool { return do(t, http.MethodGet, srv.URL()+p, nil, "").body == want.body })
}

// TestWrites: rule writes are refused by default and forwarded (then seen
// at once) when configured.
func TestWrites(t *testing.T) {
	up := newUpstream(t)
	_, refusing := newRelay(t, up.URL, relay.Options{Interval: time.Hour})
	_, forwarding := newRelay(t, up.URL, relay.Options{Interval: time.Hour, Writes: relay.ForwardWrites})
	hj := http.Header{"Content-Type": {"application/json"}}
	rule := `{"setting":"size_limit","feature_values":{"user":"w"},"value":9}`
	a := do(t, http.MethodPost, refusing.URL()+"/api/v1/rules", hj, rule)
	if a.status != http.StatusForbidden || !strings.Contains(a.body, "refused") {
		t.Errorf("refused write: %d %q", a.status, a.body)
	}
	a = do(t, http.MethodDelete, refusing.URL()+"/api/v1/settings/size_limit", nil, "")
	if a.status != http.StatusForbidden {
		t.Errorf("refused delete: %d %q", a.status, a.body)
	}
	a = do(t, http.MethodPost, forwarding.URL()+"/api/v1/rules", hj, rule)
	if a.status != http.StatusCreated {
		t.Fatalf("forwarded write: %d %q", a.status, a.body)
	}
	p := "/api/v1/query?settings=size_limit"
	if got, want := do(t, http.MethodGet, forwarding.URL()+p, nil, ""), do(t, http.MethodGet, up.URL+p, nil, ""); got.body != want.body {
		t.Errorf("after a forwarded write: %s, want %s", got.body, want.body)
	}
}

// TestListenGuard: the listener's access rules are those of every listener
// of the project.
func TestListenGuard(t *testing.T) {
	up := newUpstream(t)
	r, srv := newRelay(t, up.URL, relay.Options{Interval: time.Hour})
	ctx := context.Background()
	if _, err := r.Listen(ctx, relay.ListenOptions{Listen: "0.0.0.0:0"}); !errors.Is(err, relay.ErrNotLoopback) {
		t.Errorf("non-loopback without a token: %v, want ErrNotLoopback", err)
	}
	// A foreign Host on loopback (DNS rebinding) is refused.
	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/api/v1/query", nil)
	req.Host = "evil.example:8181"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("foreign Host: %d, want 421", resp.StatusCode)
	}
	// With a token, on any address, the token is required.
	tok, err := r.Listen(ctx, relay.ListenOptions{Listen: "127.0.0.1:0", Token: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tok.Close(ctx) }()
	if a := do(t, http.MethodGet, tok.URL()+"/api/v1/query", nil, ""); a.status != http.StatusUnauthorized {
		t.Errorf("no token: %d", a.status)
	}
	if a := do(t, http.MethodGet, tok.URL()+"/api/v1/query", http.Header{"Authorization": {"Bearer s3cret"}}, ""); a.status != http.StatusOK {
		t.Errorf("with the token: %d", a.status)
	}
}

// TestMemoryBounded: many downstream clients, each with its own query,
// leave no state behind them: the heap after 2,400 distinct clients is
// about what it is after 400.
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("many requests")
	}
	up := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user"))
	for i := range 64 {
		if err := up.Declare(hekshertest.Setting{Name: fmt.Sprintf("s%02d", i), Type: "int", Default: i,
			ConfigurableFeatures: []string{"user"}}); err != nil {
			t.Fatal(err)
		}
	}
	_, srv := newRelay(t, up.URL, relay.Options{Interval: time.Hour})
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	run := func(from, to int) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for i := from; i < to; i++ {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				// A distinct settings list per client: bits of i.
				var names []string
				for b := range 12 {
					if i>>b&1 == 1 {
						names = append(names, fmt.Sprintf("s%02d", b))
					}
				}
				resp, err := hc.Get(srv.URL() + "/api/v1/query?settings=" + strings.Join(names, ",") + "&include_metadata=" + strconv.FormatBool(i%2 == 0))
				if err != nil {
					t.Error(err)
					return
				}
				_ = resp.Body.Close()
			})
		}
		wg.Wait()
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	run(0, 400)
	base := heap()
	goroutines := runtime.NumGoroutine()
	run(400, 2400)
	after := heap()
	if after > base+8<<20 {
		t.Errorf("heap grew from %d to %d bytes over 2,000 more clients", base, after)
	}
	waitFor(t, "no goroutine per client", func() bool { return runtime.NumGoroutine() <= goroutines+4 })
}

// TestDefinitionsRefresh: a change that does not show in the query's answer
// (a setting's metadata) reaches a relay that long-polls its upstream, once
// its definitions are due.
func TestDefinitionsRefresh(t *testing.T) {
	up := newUpstream(t)
	r, srv := newRelay(t, up.URL, relay.Options{Interval: time.Second, DefinitionsEvery: 2})
	waitFor(t, "the relay to long-poll", func() bool { return r.Stats().Watch })
	if _, err := up.Do(context.Background(), http.MethodPut, "/api/v1/settings/size_limit/metadata/owner", map[string]any{"value": "ops", "version": "1.1"}); err != nil {
		t.Fatal(err)
	}
	p := "/api/v1/settings/size_limit"
	want := do(t, http.MethodGet, up.URL+p, nil, "")
	if !strings.Contains(want.body, `"owner":"ops"`) {
		t.Fatalf("the service did not take the metadata: %s", want.body)
	}
	waitFor(t, "the metadata through the relay", func() bool { return do(t, http.MethodGet, srv.URL()+p, nil, "").body == want.body })
}

// TestWaitDoesNotHammer: waiting for the first snapshot of an upstream that
// is down leaves the retries to the backoff.
func TestWaitDoesNotHammer(t *testing.T) {
	up := hekshertest.NewServer(t)
	up.Stop()
	r, err := relay.New(context.Background(), relay.Options{Upstream: up.URL, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := r.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait: %v, want the deadline", err)
	}
	// 100 ms doubling: at most a handful in half a second, whatever the
	// machine's speed (a loop would make thousands).
	if n := r.Stats().UpstreamRequests; n > 10 {
		t.Errorf("%d upstream requests in 500 ms", n)
	}
	// Downstream requests meanwhile: the service without its database.
	rec := httptestGet(t, r.Handler(), "/api/health")
	if rec != http.StatusInternalServerError {
		t.Errorf("health without a snapshot: %d, want 500", rec)
	}
}

func httptestGet(t *testing.T, h http.Handler, target string) int {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	return w.Code
}

// TestUpstream304WithoutETag: an upstream that answers 304 to a query
// that named no ETag (there is nothing to keep) is a failing upstream, not
// a crash.
func TestUpstream304WithoutETag(t *testing.T) {
	up := newUpstream(t, hekshertest.WithoutWatch())
	up.Intercept(func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		if req.URL.Path == "/api/v1/query" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		next.ServeHTTP(w, req)
	})
	r, err := relay.New(context.Background(), relay.Options{Upstream: up.URL, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close(context.Background()) }()
	waitFor(t, "the failure to show", func() bool { return r.Stats().Failing })
	if r.Stats().Ready {
		t.Error("a snapshot from nothing")
	}
}
