package relay_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/internal/wire"
	"github.com/heksher-go/heksher/relay"
)

// TestWatchPush: with an upstream that offers the watch, a rule change
// reaches a relay two tiers down, and a client watching it, although
// every relay's interval is an hour.
func TestWatchPush(t *testing.T) {
	up := newUpstream(t)
	regional, regionalSrv := newRelay(t, up.URL, relay.Options{Interval: time.Hour})
	node, nodeSrv := newRelay(t, regionalSrv.URL(), relay.Options{Interval: time.Hour})
	waitFor(t, "both relays to long-poll", func() bool { return regional.Stats().Watch && node.Stats().Watch })

	p := "/api/v1/query?settings=size_limit"
	first := do(t, http.MethodGet, nodeSrv.URL()+p, nil, "")
	if first.header.Get(wire.HeaderWatch) == "" {
		t.Fatalf("the relay does not offer the watch downstream: %v", first.header)
	}
	// A client's watch on the node, held until the change arrives.
	got := make(chan answer, 1)
	go func() {
		got <- do(t, http.MethodGet, nodeSrv.URL()+p, http.Header{"If-None-Match": {first.etag}, wire.HeaderPrefer: {"wait=30"}}, "")
	}()
	if _, err := up.AddRule("size_limit", map[string]string{"user": "push"}, 99); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-got:
		want := do(t, http.MethodGet, up.URL+p, nil, "")
		if a.status != http.StatusOK || a.body != want.body || a.etag != want.etag {
			t.Errorf("watch answered %d %s, want the service's %s", a.status, a.body, want.body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the change did not reach the watch two relays down")
	}
}

// TestPollingFallback: an upstream without the watch (the real service)
// is polled once per interval, with no Prefer header.
func TestPollingFallback(t *testing.T) {
	up := hekshertest.NewServer(t, hekshertest.WithoutWatch(), hekshertest.WithContextFeatures("user"),
		hekshertest.WithSettings(hekshertest.Setting{Name: "a", Type: "int", Default: 1, ConfigurableFeatures: []string{"user"}}))
	r, srv := newRelay(t, up.URL, relay.Options{Interval: 50 * time.Millisecond})
	if _, err := up.AddRule("a", map[string]string{"user": "x"}, 2); err != nil {
		t.Fatal(err)
	}
	p := "/api/v1/query"
	want := do(t, http.MethodGet, up.URL+p, nil, "")
	waitFor(t, "the rule by polling", func() bool { return do(t, http.MethodGet, srv.URL()+p, nil, "").body == want.body })
	if r.Stats().Watch {
		t.Error("the relay thinks the upstream offers the watch")
	}
	for _, rq := range up.Requests() {
		if rq.Header.Get(wire.HeaderPrefer) != "" {
			t.Errorf("a long poll sent to an upstream without the watch: %s %s", rq.Path, rq.Header)
		}
	}
}

// TestCloseEndsWatches: a downstream watch held on the relay does not hold
// up its listener's Close.
func TestCloseEndsWatches(t *testing.T) {
	up := newUpstream(t)
	r, err := relay.New(context.Background(), relay.Options{Upstream: up.URL, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close(context.Background()) }()
	if err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv, err := r.Listen(context.Background(), relay.ListenOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	p := srv.URL() + "/api/v1/query"
	etag := do(t, http.MethodGet, p, nil, "").etag
	got := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, p, nil)
		req.Header.Set("If-None-Match", etag)
		req.Header.Set(wire.HeaderPrefer, "wait=60")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- 0
			return
		}
		_ = resp.Body.Close()
		got <- resp.StatusCode
	}()
	// Close is correct whether the watch is held yet or not; in the
	// common case it is.
	waitFor(t, "the watch held", func() bool {
		return strings.Contains(do(t, http.MethodGet, srv.URL()+"/api/health", nil, "").body, "version")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("Close took %v with a watch held", d)
	}
	if s := <-got; s != http.StatusNotModified && s != 0 {
		t.Errorf("the held watch got %d", s)
	}
}

// TestAgeWhileWatching: a watch held on the upstream keeps the snapshot
// confirmed: its age does not grow while nothing changes.
func TestAgeWhileWatching(t *testing.T) {
	up := newUpstream(t)
	r, srv := newRelay(t, up.URL, relay.Options{Interval: time.Hour})
	waitFor(t, "the relay to long-poll", func() bool { return r.Stats().Watch })
	start := time.Now()
	for time.Since(start) < 1500*time.Millisecond {
		a := do(t, http.MethodGet, srv.URL()+"/api/health", nil, "")
		age, err := strconv.ParseFloat(a.header.Get(wire.HeaderSnapshotAge), 64)
		if err != nil {
			t.Fatal(err)
		}
		if age > 1 {
			t.Fatalf("snapshot age %.3f s while a watch is held on a live upstream", age)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestFalseWatch: an upstream that advertises the watch but answers at
// once (at its cap of watches, say) is not polled in a loop.
func TestFalseWatch(t *testing.T) {
	up := newUpstream(t, hekshertest.WithoutWatch())
	up.Intercept(func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		w.Header().Set(wire.HeaderWatch, "wait=60")
		next.ServeHTTP(w, req)
	})
	r, _ := newRelay(t, up.URL, relay.Options{Interval: 200 * time.Millisecond})
	waitFor(t, "the relay to believe in the watch", func() bool { return r.Stats().Watch })
	before := r.Stats().UpstreamRequests
	time.Sleep(time.Second) // counting what a second costs; no assertion on timing itself
	if n := r.Stats().UpstreamRequests - before; n > 20 {
		t.Errorf("%d upstream requests in a second with an interval of 200 ms", n)
	}
}
