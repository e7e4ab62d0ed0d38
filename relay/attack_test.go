package relay_test

// Hostile tests: what a careless operator, a hostile downstream client or a
// hostile (or broken) upstream can do to a relay, and the bounds that hold.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/internal/httpguard"
	"github.com/heksher-go/heksher/internal/wire"
	"github.com/heksher-go/heksher/relay"
)

// rawRequest writes request on a new connection to addr and returns the
// answer's status, headers and body.
func rawRequest(t *testing.T, addr, request string) (int, http.Header, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", request, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestAttackFlappingUpstream: an upstream whose state changes before every
// query it answers (a writer in a loop, or a hostile upstream) and that
// offers the watch answers every long poll at once with new data. The
// relay must space its polls instead of syncing back to back as fast as
// the CPU allows.
func TestAttackFlappingUpstream(t *testing.T) {
	up := newUpstream(t)
	id, err := up.AddRule("size_limit", map[string]string{"user": "flap"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	var queries atomic.Int64
	up.Intercept(func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		if req.URL.Path == "/api/v1/query" {
			queries.Add(1)
			_ = up.SetRuleValue(id, n.Add(1))
		}
		next.ServeHTTP(w, req)
	})
	r, _ := newRelay(t, up.URL, relay.Options{Interval: time.Hour})
	waitFor(t, "the relay to long-poll", func() bool { return r.Stats().Watch })
	before, q0 := r.Stats().UpstreamRequests, queries.Load()
	start := time.Now()
	time.Sleep(2 * time.Second) // counting what two seconds cost; the bound is on the count
	el := time.Since(start)
	reqs, qs := r.Stats().UpstreamRequests-before, queries.Load()-q0
	// At most one poll per 100 ms after a change (each poll with its two
	// reads of the definitions), with room for a slow clock.
	if limit := int64(el/(100*time.Millisecond)) + 3; qs > limit {
		t.Errorf("%d upstream queries (%d requests) in %v: a flapping upstream makes the relay spin (want <= %d)", qs, reqs, el, limit)
	}
	// The changes still arrive.
	if r.Stats().Applied < 3 {
		t.Errorf("stats %+v: the changes should still be applied", r.Stats())
	}
}

// TestAttackRedirectLeak: an upstream that redirects the relay elsewhere
// (compromised, or a misconfigured proxy) must not get the relay to send its
// upstream credentials (service.headers, any of them) to another host, nor a
// forwarded declaration's body.
func TestAttackRedirectLeak(t *testing.T) {
	var leaked atomic.Int64
	var mu sync.Mutex
	var seen []string
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		leaked.Add(1)
		mu.Lock()
		seen = append(seen, req.Method+" "+req.URL.Path+" key="+req.Header.Get("X-Api-Key")+" auth="+req.Header.Get("Authorization"))
		mu.Unlock()
		http.Error(w, "gotcha", http.StatusTeapot)
	}))
	t.Cleanup(evil.Close)
	up := newUpstream(t, hekshertest.WithoutWatch())
	var redirect atomic.Bool
	up.Intercept(func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		if redirect.Load() {
			http.Redirect(w, req, evil.URL+req.URL.Path, http.StatusTemporaryRedirect)
			return
		}
		next.ServeHTTP(w, req)
	})
	hdr := http.Header{"X-Api-Key": {"s3cret"}, "Authorization": {"Bearer upstream-token"}}
	r, srv := newRelay(t, up.URL, relay.Options{Interval: 20 * time.Millisecond, Header: hdr})
	redirect.Store(true)
	errs := r.Stats().UpstreamErrors
	waitFor(t, "syncs to meet the redirect", func() bool { return r.Stats().UpstreamErrors >= errs+3 || leaked.Load() > 0 })
	body := `{"name":"brand_new","configurable_features":["user"],"type":"int","default_value":1}`
	a := do(t, http.MethodPost, srv.URL()+"/api/v1/settings/declare", http.Header{"Content-Type": {"application/json"}}, body)
	mu.Lock()
	defer mu.Unlock()
	if leaked.Load() > 0 {
		t.Errorf("the relay followed a redirect to another host: %q", seen)
	}
	if a.status == http.StatusTeapot {
		t.Errorf("a forwarded declaration was answered by the host redirected to: %d %s", a.status, a.body)
	}
	if st := r.Stats(); !st.Failing {
		t.Errorf("stats %+v: a redirected sync should count as a failure", st)
	}
}

// TestAttackForwardPathEscapes: with writes forwarded, a path whose
// escapes decode to "#" or "?" must reach the upstream as the client sent
// it, not cut at the decoded character: DELETE /api/v1/rules/5%23 is a
// malformed rule id (422), not DELETE /api/v1/rules/5.
func TestAttackForwardPathEscapes(t *testing.T) {
	up := newUpstream(t)
	id, err := up.AddRule("size_limit", map[string]string{"user": "victim"}, 99)
	if err != nil {
		t.Fatal(err)
	}
	_, srv := newRelay(t, up.URL, relay.Options{Interval: time.Hour, Writes: relay.ForwardWrites})
	ids := strconv.FormatInt(id, 10)
	for _, tc := range []struct{ name, method, path string }{
		{"fragment", http.MethodDelete, "/api/v1/rules/" + ids + "%23"},
		{"query", http.MethodDelete, "/api/v1/rules/" + ids + "%3Fx"},
		{"fragment in a setting name", http.MethodDelete, "/api/v1/settings/size_limit%23x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := do(t, tc.method, up.URL+tc.path, nil, "")
			got := do(t, tc.method, srv.URL()+tc.path, nil, "")
			if got.status != want.status || got.body != want.body {
				t.Errorf("relay %d %q, service %d %q", got.status, got.body, want.status, want.body)
			}
		})
	}
	if b, err := up.Do(context.Background(), http.MethodGet, "/api/v1/rules/"+ids, nil); err != nil {
		t.Errorf("the rule the paths did not name is gone: %v %s", err, b)
	}
	if b, err := up.Do(context.Background(), http.MethodGet, "/api/v1/settings/size_limit", nil); err != nil {
		t.Errorf("the setting the path did not name is gone: %v %s", err, b)
	}
}

// TestAttackRefusedWriteTricks: with writes refused, no spelling of a
// write reaches the upstream: methods the engine reads as GET, override
// headers, doubled slashes, dot segments, trailing slashes, escapes.
func TestAttackRefusedWriteTricks(t *testing.T) {
	up := newUpstream(t)
	var writes atomic.Int64
	up.Intercept(func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			writes.Add(1)
		}
		next.ServeHTTP(w, req)
	})
	_, srv := newRelay(t, up.URL, relay.Options{Interval: time.Hour})
	before := do(t, http.MethodGet, up.URL+"/api/v1/query?include_metadata=true", nil, "")
	rule := `{"setting":"size_limit","feature_values":{"user":"evil"},"value":1}`
	addr := srv.Addr()
	reqs := []string{
		"HEAD /api/v1/rules HTTP/1.1\r\n",
		"OPTIONS /api/v1/rules HTTP/1.1\r\n",
		"GET /api/v1/rules/1 HTTP/1.1\r\nX-HTTP-Method-Override: DELETE\r\n",
		"GET /api/v1/rules/1 HTTP/1.1\r\nX-HTTP-Method: DELETE\r\nX-Method-Override: DELETE\r\n",
		"POST //api/v1/rules HTTP/1.1\r\n",
		"POST /api/v1/../v1/rules HTTP/1.1\r\n",
		"POST /api/v1/./rules HTTP/1.1\r\n",
		"POST /api/v1/rules/ HTTP/1.1\r\n",
		"POST /api/v1/%72ules HTTP/1.1\r\n",
		"POST /api%2Fv1%2Frules HTTP/1.1\r\n",
		"POST /API/V1/RULES HTTP/1.1\r\n",
		"post /api/v1/rules HTTP/1.1\r\n",
		"DELETE /api/v1/rules/1 HTTP/1.1\r\n",
		"DELETE /api/v1/settings/size_limit HTTP/1.1\r\n",
		"PATCH /api/v1/rules/1 HTTP/1.1\r\n",
		"PUT /api/v1/settings/size_limit/type HTTP/1.1\r\n",
		"POST http://127.0.0.1/api/v1/rules HTTP/1.1\r\n",
		"DELETE /api/v1/context_features/theme HTTP/1.1\r\n",
	}
	for _, start := range reqs {
		req := start + "Host: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n" +
			"Content-Length: " + strconv.Itoa(len(rule)) + "\r\n\r\n" + rule
		status, _, body := rawRequest(t, addr, req)
		t.Logf("%q: %d %.80q", strings.TrimSpace(start), status, body)
	}
	if n := writes.Load(); n != 0 {
		t.Errorf("%d writes reached the upstream with writes refused", n)
	}
	after := do(t, http.MethodGet, up.URL+"/api/v1/query?include_metadata=true", nil, "")
	if after.body != before.body {
		t.Errorf("the upstream's state changed through a relay that refuses writes")
	}
}

// TestAttackUnknownNameLoop: a client asking for names nobody declared, in
// a loop and from many goroutines, costs the upstream at most one refresh
// per MissRefreshEvery (each a sync of three requests).
func TestAttackUnknownNameLoop(t *testing.T) {
	up := newUpstream(t, hekshertest.WithoutWatch())
	r, srv := newRelay(t, up.URL, relay.Options{Interval: time.Hour})
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	before := r.Stats().UpstreamRequests
	start := time.Now()
	var wg sync.WaitGroup
	var n atomic.Int64
	for g := range 8 {
		wg.Go(func() {
			for i := 0; time.Since(start) < 2*time.Second; i++ {
				p := []string{"/api/v1/query?settings=nope" + strconv.Itoa(g*100000+i), "/api/v1/settings/nope" + strconv.Itoa(i),
					"/api/v1/rules/search?setting=nope&feature_values=user:x"}[i%3]
				resp, err := hc.Get(srv.URL() + p)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				n.Add(1)
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	reqs := r.Stats().UpstreamRequests - before
	if limit := 3 * (uint64(el/time.Second) + 2); reqs > limit {
		t.Errorf("%d requests for unknown names in %v cost the upstream %d requests (want <= %d)", n.Load(), el, reqs, limit)
	}
	t.Logf("%d requests for unknown names in %v: %d upstream requests", n.Load(), el, reqs)
}

// TestAttackSlowUpstreamBody: an upstream that sends its headers and then a
// byte now and then (or nothing) never holds the relay past its request
// timeout: the sync fails, the last snapshot is served and its age grows.
func TestAttackSlowUpstreamBody(t *testing.T) {
	up := newUpstream(t, hekshertest.WithoutWatch())
	var drip atomic.Bool
	up.Intercept(func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		if !drip.Load() || req.URL.Path != "/api/v1/query" {
			next.ServeHTTP(w, req)
			return
		}
		w.Header().Set("ETag", `"drip"`)
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"settings":{`)
		for {
			w.(http.Flusher).Flush()
			select {
			case <-req.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			_, _ = io.WriteString(w, " ")
		}
	})
	r, srv := newRelay(t, up.URL, relay.Options{Interval: 50 * time.Millisecond, RequestTimeout: 300 * time.Millisecond})
	good := do(t, http.MethodGet, srv.URL()+"/api/v1/query", nil, "")
	drip.Store(true)
	waitFor(t, "the dripping sync to fail", func() bool { return r.Stats().Failing })
	waitFor(t, "the age to show the upstream's silence", func() bool {
		a := do(t, http.MethodGet, srv.URL()+"/api/v1/query", nil, "")
		age, _ := strconv.ParseFloat(a.header.Get(wire.HeaderSnapshotAge), 64)
		return a.body == good.body && age > 1
	})
}

// TestAttackHangMidLongPoll: an upstream that offers the watch, then sends
// the headers of a long poll's answer and never its body, shows in the age
// once the wait asked for has passed: a watch held is a confirmation only
// while the upstream can still answer it.
func TestAttackHangMidLongPoll(t *testing.T) {
	up := newUpstream(t, hekshertest.WithWatchLimits(time.Second, 0))
	var hang atomic.Bool
	up.Intercept(func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		if !hang.Load() || req.URL.Path != "/api/v1/query" || req.Header.Get(wire.HeaderPrefer) == "" {
			next.ServeHTTP(w, req)
			return
		}
		w.Header().Set(wire.HeaderWatch, "wait=1")
		w.Header().Set("ETag", `"hang"`)
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"settings":{"size_limit":`)
		w.(http.Flusher).Flush()
		<-req.Context().Done()
	})
	r, srv := newRelay(t, up.URL, relay.Options{Interval: time.Hour, RequestTimeout: 2 * time.Second})
	waitFor(t, "the relay to long-poll", func() bool { return r.Stats().Watch })
	hang.Store(true)
	waitFor(t, "the age to grow past the wait while the answer hangs", func() bool {
		a := do(t, http.MethodGet, srv.URL()+"/api/v1/query", nil, "")
		age, err := strconv.ParseFloat(a.header.Get(wire.HeaderSnapshotAge), 64)
		return err == nil && age > 1.5 && r.Stats().SnapshotAge > 1500*time.Millisecond
	})
	waitFor(t, "the hanging answer to count as a failure", func() bool { return r.Stats().Failing })
}

// TestAttackRelayLoop: two relays, each the other's upstream (a
// misconfiguration). Neither ever holds a snapshot; both answer as a
// service without its database, within their request timeout; neither
// spins nor grows.
func TestAttackRelayLoop(t *testing.T) {
	var ha, hb atomic.Pointer[http.Handler]
	serve := func(p *atomic.Pointer[http.Handler]) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if h := p.Load(); h != nil {
				(*h).ServeHTTP(w, req)
				return
			}
			http.Error(w, "not yet", http.StatusServiceUnavailable)
		}))
		t.Cleanup(s.Close)
		return s
	}
	sa, sb := serve(&ha), serve(&hb)
	ctx := context.Background()
	opts := relay.Options{Interval: 200 * time.Millisecond, RequestTimeout: 500 * time.Millisecond}
	opts.Upstream = sb.URL
	a, err := relay.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Upstream = sa.URL
	b, err := relay.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close(ctx); _ = b.Close(ctx) })
	for p, r := range map[*atomic.Pointer[http.Handler]]*relay.Relay{&ha: a, &hb: b} {
		h := r.Handler()
		p.Store(&h)
	}
	waitFor(t, "both relays to fail", func() bool { return a.Stats().Failing && b.Stats().Failing })
	ra, rb := a.Stats().UpstreamRequests, b.Stats().UpstreamRequests
	g := runtime.NumGoroutine()
	time.Sleep(2 * time.Second) // counting what two seconds cost
	da, db := a.Stats().UpstreamRequests-ra, b.Stats().UpstreamRequests-rb
	// Backoff from 100 ms to the interval (200 ms): about 10 a second.
	if da > 40 || db > 40 {
		t.Errorf("a loop of relays made %d and %d upstream requests in 2 s", da, db)
	}
	if n := runtime.NumGoroutine(); n > g+20 {
		t.Errorf("goroutines grew from %d to %d", g, n)
	}
	if a.Stats().Ready || b.Stats().Ready {
		t.Errorf("a loop of relays claims a snapshot")
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(cctx, http.MethodGet, sa.URL+"/api/health", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("health of a relay in a loop: %d, want 500 (no snapshot)", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
}

// TestAttackHugeDeclaration: a declaration body of 100 MB is answered 413
// after 8 MiB, without reading or forwarding the rest.
func TestAttackHugeDeclaration(t *testing.T) {
	up := newUpstream(t)
	var declares atomic.Int64
	up.Intercept(func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		if req.Method == http.MethodPost {
			declares.Add(1)
		}
		next.ServeHTTP(w, req)
	})
	_, srv := newRelay(t, up.URL, relay.Options{Interval: time.Hour})
	body := io.MultiReader(strings.NewReader(`{"name":"x","type":"int","default_value":1,"configurable_features":["user"],"metadata":{"pad":"`),
		io.LimitReader(zeros{}, 100<<20), strings.NewReader(`"}}`))
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/api/v1/settings/declare", body)
	req.Header.Set("Content-Type", "application/json")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("100 MB declaration: %d, want 413", resp.StatusCode)
	}
	if n := declares.Load(); n != 0 {
		t.Errorf("%d oversized declarations forwarded", n)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// TestAttackTokenSpellings: a relay with a token serves only "Bearer
// <token>" (the scheme in any case); other schemes, a token differing in
// case or with a suffix, or none, get 401, and no answer leaks data.
func TestAttackTokenSpellings(t *testing.T) {
	up := newUpstream(t)
	ctx := context.Background()
	r, err := relay.New(ctx, relay.Options{Upstream: up.URL, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(ctx) })
	srv, err := r.Listen(ctx, relay.ListenOptions{Listen: "127.0.0.1:0", Token: "Tok3n"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(ctx) })
	for _, tc := range []struct {
		auth   string
		status int
	}{
		{"Bearer Tok3n", 200}, {"bearer Tok3n", 200}, {"BEARER Tok3n", 200},
		{"", 401}, {"Bearer tok3n", 401}, {"Bearer Tok3n2", 401}, {"Bearer Tok3", 401}, {"Basic Tok3n", 401},
		{"Tok3n", 401}, {"Bearer", 401}, {"Bearer ", 401}, {"Token Tok3n", 401}, {"Bearer Tok3n Tok3n", 401},
	} {
		req := "GET /api/v1/query HTTP/1.1\r\nHost: relay.example\r\nConnection: close\r\n"
		if tc.auth != "" {
			req += "Authorization: " + tc.auth + "\r\n"
		}
		status, _, body := rawRequest(t, srv.Addr(), req+"\r\n")
		if status != tc.status || (status != 200 && strings.Contains(body, "size_limit")) {
			t.Errorf("Authorization %q: %d %.60q, want %d", tc.auth, status, body, tc.status)
		}
	}
}

// TestAttackEndlessUpstreamBody: an upstream that answers with a body
// without end, or announces one larger than the bound, fails the sync at
// Options.MaxAnswer: the relay neither reads on nor grows, and serves its
// last snapshot.
func TestAttackEndlessUpstreamBody(t *testing.T) {
	up := newUpstream(t, hekshertest.WithoutWatch())
	var mode atomic.Value
	mode.Store("")
	up.Intercept(func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		switch m := mode.Load().(string); {
		case m == "" || req.URL.Path != "/api/v1/query":
			next.ServeHTTP(w, req)
		case m == "endless":
			w.Header().Set("ETag", `"endless"`)
			_, _ = io.WriteString(w, `{"settings":{"a":{"default_value":"`)
			buf := []byte(strings.Repeat("x", 64<<10))
			for req.Context().Err() == nil {
				if _, err := w.Write(buf); err != nil {
					return
				}
			}
		case m == "announced":
			w.Header().Set("Content-Length", strconv.Itoa(1<<30))
			w.Header().Set("ETag", `"big"`)
			_, _ = io.WriteString(w, `{"settings":{`)
		}
	})
	r, srv := newRelay(t, up.URL, relay.Options{Interval: 50 * time.Millisecond, MaxAnswer: 1 << 20})
	good := do(t, http.MethodGet, srv.URL()+"/api/v1/query", nil, "")
	var ms runtime.MemStats
	for _, m := range []string{"endless", "announced"} {
		mode.Store(m)
		errs := r.Stats().UpstreamErrors
		waitFor(t, m+": failures counted", func() bool { return r.Stats().UpstreamErrors >= errs+5 })
		if st := r.Stats(); !strings.Contains(st.LastError, "larger than") {
			t.Errorf("%s: last error %q", m, st.LastError)
		}
		if a := do(t, http.MethodGet, srv.URL()+"/api/v1/query", nil, ""); a.body != good.body {
			t.Errorf("%s: the last snapshot is not served", m)
		}
	}
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > 256<<20 {
		t.Errorf("heap at %d bytes after endless bodies bounded at 1 MiB", ms.HeapAlloc)
	}
}

// heldWatches opens n downstream watches on raw connections to addr and
// returns them; the caller closes them.
func heldWatches(t *testing.T, addr, etag string, n int) []net.Conn {
	t.Helper()
	req := "GET /api/v1/query HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: " + etag + "\r\n" + wire.HeaderPrefer + ": wait=3600\r\n\r\n"
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
	}
	return conns
}

// TestAttackManyWatchers: thousands of downstream watches cost a bounded
// amount each (a goroutine and buffers, no copy of the state); past
// Options.MaxWatchers a watch is answered at once; clients that go away
// release theirs.
func TestAttackManyWatchers(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of connections")
	}
	up := newUpstream(t)
	r, srv := newRelay(t, up.URL, relay.Options{Interval: time.Hour, MaxWatchers: 2000})
	etag := do(t, http.MethodGet, srv.URL()+"/api/v1/query", nil, "").etag
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc + ms.StackInuse
	}
	base, g0 := heap(), runtime.NumGoroutine()
	conns := heldWatches(t, srv.Addr(), etag, 2000)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	waitFor(t, "2,000 watches held", func() bool { return r.Stats().Watchers == 2000 })
	per := (int64(heap()) - int64(base)) / 2000
	t.Logf("2,000 watches: %d bytes and %.1f goroutines each", per, float64(runtime.NumGoroutine()-g0)/2000)
	if per > 64<<10 {
		t.Errorf("%d bytes per held watch", per)
	}
	// At the cap: answered at once, a plain 304.
	over := heldWatches(t, srv.Addr(), etag, 20)
	for _, c := range over {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("a watch over the cap: %v", err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified || resp.Header.Get("Preference-Applied") != "" {
			t.Errorf("a watch over the cap: %d %v", resp.StatusCode, resp.Header)
		}
		_ = c.Close()
	}
	if n := r.Stats().Watchers; n != 2000 {
		t.Errorf("%d watches held over a cap of 2,000", n)
	}
	for _, c := range conns {
		_ = c.Close()
	}
	waitFor(t, "every watch released", func() bool { return r.Stats().Watchers == 0 })
	waitFor(t, "their goroutines gone", func() bool { return runtime.NumGoroutine() < g0+50 })
}

// handlersIn counts the goroutines whose stack holds fn.
func handlersIn(fn string) int {
	buf := make([]byte, 16<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			n++
		}
	}
	return n
}

// TestAttackNeverReads: clients that ask for a large answer and never read
// it are disconnected ListenOptions.AnswerTimeout after it starts: they do
// not hold the relay's goroutines and answers for ever (the watch cap does
// not count them: their wait is over).
func TestAttackNeverReads(t *testing.T) {
	// 6 MiB: more than the kernel buffers on both sides of a loopback
	// connection whose reader asked for a small receive buffer.
	big := strings.Repeat("x", 1<<20)
	var settings []hekshertest.Setting
	for i := range 6 {
		settings = append(settings, hekshertest.Setting{Name: fmt.Sprintf("big%02d", i), Type: "str", Default: big,
			ConfigurableFeatures: []string{"user"}})
	}
	up := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user"), hekshertest.WithSettings(settings...))
	ctx := context.Background()
	r, err := relay.New(ctx, relay.Options{Upstream: up.URL, Interval: time.Hour, RequestTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(ctx) })
	if err := r.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err := r.Listen(ctx, relay.ListenOptions{Listen: "127.0.0.1:0", AnswerTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(ctx) })
	for range 4 {
		c, err := net.DialTimeout("tcp", srv.Addr(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.(*net.TCPConn).SetReadBuffer(4096)
		defer c.Close()
		if _, err := io.WriteString(c, "GET /api/v1/query HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the answers to be written", func() bool { return handlersIn("relay.(*Relay).serveHTTP") >= 1 })
	waitFor(t, "the relay to give up on clients that do not read", func() bool { return handlersIn("relay.(*Relay).serveHTTP") == 0 })
}

// TestAttackInconsistentUpstream: an upstream whose state does not hold
// together (rule ids used twice, a context feature that is not a valid
// name, a rule on a feature it does not list) is refused whole: the last
// snapshot stays served and the failure says why.
func TestAttackInconsistentUpstream(t *testing.T) {
	up := newUpstream(t, hekshertest.WithoutWatch())
	var mode atomic.Value
	mode.Store("")
	ruleID := regexp.MustCompile(`"rule_id": ?\d+`)
	up.Intercept(func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		m := mode.Load().(string)
		if m != "" {
			req.Header.Del("If-None-Match") // a new answer each time
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, req)
		body := rec.Body.String()
		switch {
		case m == "ids" && req.URL.Path == "/api/v1/query":
			body = ruleID.ReplaceAllString(body, `"rule_id": 1`)
		case m == "feature" && req.URL.Path == "/api/v1/context_features":
			body = `{"context_features":["user","trust","theme","not a name!"]}`
		case m == "unlisted" && req.URL.Path == "/api/v1/context_features":
			body = `{"context_features":["user","trust"]}`
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.Header().Del("Content-Length")
		if m != "" && req.URL.Path == "/api/v1/query" {
			w.Header().Set("ETag", `"`+m+`"`)
		}
		w.WriteHeader(rec.Code)
		_, _ = io.WriteString(w, body)
	})
	r, srv := newRelay(t, up.URL, relay.Options{Interval: 30 * time.Millisecond})
	good := do(t, http.MethodGet, srv.URL()+"/api/v1/query?include_metadata=true", nil, "")
	for _, m := range []string{"ids", "feature", "unlisted"} {
		mode.Store(m)
		errs := r.Stats().UpstreamErrors
		waitFor(t, m+": failures counted", func() bool { return r.Stats().UpstreamErrors >= errs+2 })
		if st := r.Stats(); !strings.Contains(st.LastError, "refused") {
			t.Errorf("%s: last error %q", m, st.LastError)
		}
		if a := do(t, http.MethodGet, srv.URL()+"/api/v1/query?include_metadata=true", nil, ""); a.body != good.body {
			t.Errorf("%s: the last snapshot is not served: %s", m, a.body)
		}
	}
}

// TestAttackDeclarationFlood: declarations are forwarded one for one (the
// upstream decides), but the syncs they trigger are not: the declarations
// every client repeats cost none, and new ones made at once share them.
func TestAttackDeclarationFlood(t *testing.T) {
	up := newUpstream(t, hekshertest.WithoutWatch())
	var declares, queries atomic.Int64
	up.Intercept(func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		switch req.URL.Path {
		case "/api/v1/settings/declare":
			declares.Add(1)
		case "/api/v1/query":
			queries.Add(1)
		}
		next.ServeHTTP(w, req)
	})
	_, srv := newRelay(t, up.URL, relay.Options{Interval: time.Hour})
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	declare := func(body string) {
		resp, err := hc.Post(srv.URL()+"/api/v1/settings/declare", "application/json", strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("declaration: %d", resp.StatusCode)
		}
	}
	q0 := queries.Load()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for range 300 {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			declare(`{"name":"size_limit","configurable_features":["user","theme"],"type":"int","default_value":200}`)
		})
	}
	wg.Wait()
	if d, q := declares.Load(), queries.Load()-q0; d != 300 || q != 0 {
		t.Errorf("300 repeated declarations: %d forwarded, %d syncs (want 300, 0)", d, q)
	}
	q0 = queries.Load()
	for i := range 64 {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			declare(fmt.Sprintf(`{"name":"new_%d","configurable_features":["user"],"type":"int","default_value":%d}`, i, i))
		})
	}
	wg.Wait()
	q := queries.Load() - q0
	t.Logf("64 new settings declared 16 at a time: %d syncs", q)
	if q > 64 {
		t.Errorf("64 new declarations cost %d syncs", q)
	}
}

// TestAttackSlowDeclarationBody: a declaration whose body does not arrive
// within the listener's body bound is answered as the compatible server
// answers it (408), not forwarded, and not taken for a malformed body.
func TestAttackSlowDeclarationBody(t *testing.T) {
	up := newUpstream(t)
	r, _ := newRelay(t, up.URL, relay.Options{Interval: time.Hour})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: r.Handler()}
	httpguard.Limits{ReadBodyTimeout: 300 * time.Millisecond}.Apply(hs)
	done := make(chan struct{})
	go func() { defer close(done); _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close(); <-done })
	status, _, body := rawRequest(t, ln.Addr().String(), "POST /api/v1/settings/declare HTTP/1.1\r\nHost: 127.0.0.1\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":")
	if status != http.StatusRequestTimeout {
		t.Errorf("a declaration body that never arrives: %d %q, want 408", status, body)
	}
	if st := r.Stats(); st.Forwarded != 0 {
		t.Errorf("stats %+v: nothing should be forwarded", st)
	}
}

// TestAttackETagChurn: an upstream that offers the watch and answers every
// long poll at once with 200 and a new ETag for the same content costs the
// relay one sync per interval, and changes nothing downstream (the
// replica's ETag stays, so its clients' watches stay held).
func TestAttackETagChurn(t *testing.T) {
	up := newUpstream(t)
	var n atomic.Int64
	var churn atomic.Bool
	up.Intercept(func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		if churn.Load() && req.URL.Path == "/api/v1/query" {
			req.Header.Del("If-None-Match")
			w.Header().Set("ETag", fmt.Sprintf(`"churn-%d"`, n.Add(1)))
		}
		next.ServeHTTP(w, req)
	})
	r, srv := newRelay(t, up.URL, relay.Options{Interval: 200 * time.Millisecond})
	waitFor(t, "the relay to long-poll", func() bool { return r.Stats().Watch })
	before := do(t, http.MethodGet, srv.URL()+"/api/v1/query", nil, "")
	churn.Store(true)
	applied := r.Stats().Applied
	n0 := n.Load()
	start := time.Now()
	time.Sleep(2 * time.Second) // counting what two seconds cost
	el := time.Since(start)
	if q := n.Load() - n0; q > int64(el/(200*time.Millisecond))+3 {
		t.Errorf("%d queries in %v with an interval of 200 ms", q, el)
	}
	if r.Stats().Applied != applied {
		t.Errorf("the same content under new ETags was applied again")
	}
	if a := do(t, http.MethodGet, srv.URL()+"/api/v1/query", nil, ""); a.etag != before.etag {
		t.Errorf("the relay's own ETag changed: %s, was %s", a.etag, before.etag)
	}
}

// TestAttackConcurrentDeclarations: a fleet that starts at once (or a
// client declaring in a flood) gets its declarations forwarded at most
// Options.MaxForwards at a time: the service does not see a connection per
// client, and every declaration is still answered by it.
func TestAttackConcurrentDeclarations(t *testing.T) {
	up := newUpstream(t, hekshertest.WithoutWatch())
	var now, peak atomic.Int64
	up.Intercept(func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		if req.URL.Path == "/api/v1/settings/declare" {
			n := now.Add(1)
			defer now.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(20 * time.Millisecond) // a service that takes its time
		}
		next.ServeHTTP(w, req)
	})
	_, srv := newRelay(t, up.URL, relay.Options{Interval: time.Hour, MaxForwards: 4, RequestTimeout: time.Minute})
	tr := &http.Transport{MaxIdleConnsPerHost: 100}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			resp, err := hc.Post(srv.URL()+"/api/v1/settings/declare", "application/json",
				strings.NewReader(`{"name":"size_limit","configurable_features":["user","theme"],"type":"int","default_value":200}`))
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("declaration: %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 4 {
		t.Errorf("%d declarations forwarded at once, over a cap of 4", p)
	}
}

// TestAttackSlowloris: connections that send half a request line or half
// their headers and then stall are closed by the relay's listener (10 s for
// the headers), so they cannot pile up for ever.
func TestAttackSlowloris(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 10 s header bound")
	}
	up := newUpstream(t)
	_, srv := newRelay(t, up.URL, relay.Options{Interval: time.Hour})
	var conns []net.Conn
	for i := range 100 {
		c, err := net.DialTimeout("tcp", srv.Addr(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		part := "GET /api/v1/query HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
		if i%2 == 0 {
			part = "GET /api/v1/qu"
		}
		if _, err := io.WriteString(c, part); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	start := time.Now()
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(40 * time.Second))
		_, err := io.Copy(io.Discard, c) // until the server closes it
		if err != nil {
			t.Fatalf("a stalled connection was not closed by the relay within 40 s: %v", err)
		}
	}
	t.Logf("100 stalled connections closed after %v", time.Since(start))
}

// TestAnswerDeadlineKeepAlive: the deadline put on one answer does not
// fail the next request on the same connection once it has passed (a
// kept-alive client, a 100-continue).
func TestAnswerDeadlineKeepAlive(t *testing.T) {
	up := newUpstream(t)
	ctx := context.Background()
	r, err := relay.New(ctx, relay.Options{Upstream: up.URL, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(ctx) })
	srv, err := r.Listen(ctx, relay.ListenOptions{Listen: "127.0.0.1:0", AnswerTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(ctx) })
	c, err := net.DialTimeout("tcp", srv.Addr(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	get := func(req string) int {
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if s := get("GET /api/v1/query HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); s != http.StatusOK {
		t.Fatalf("first: %d", s)
	}
	time.Sleep(300 * time.Millisecond) // past the first answer's deadline, on purpose
	body := `{"name":"size_limit","configurable_features":["user","theme"],"type":"int","default_value":200}`
	if _, err := io.WriteString(c, "POST /api/v1/settings/declare HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"+
		"Expect: 100-continue\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusContinue {
		t.Fatalf("after the first answer's deadline: %v %v, want 100 Continue", err, resp)
	}
	if s := get(body); s != http.StatusOK {
		t.Fatalf("declaration: %d", s)
	}
}
