package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/heksher-go/heksher/internal/httpguard"
	"github.com/heksher-go/heksher/internal/wire"
)

const watchQueryPath = "/api/v1/query?settings=alpha&context_filters=*&include_metadata=false"

// watchEngine is an engine with the watch on, holding two int settings,
// alpha and beta, served through the listener configuration of the dev
// server (httpguard's guard and limits, CloseWatches on shutdown).
func watchEngine(t *testing.T, wo WatchOptions, limits httpguard.Limits) (*Engine, string) {
	t.Helper()
	wo.Enabled = true
	eng, err := New(Options{ContextFeatures: []string{"user"}, Watch: wo})
	if err != nil {
		t.Fatal(err)
	}
	seed := &Seed{Settings: []SeedSetting{
		{Name: "alpha", Type: "int", Default: 1, ConfigurableFeatures: []string{"user"}},
		{Name: "beta", Type: "int", Default: 2, ConfigurableFeatures: []string{"user"}},
	}}
	if err := eng.ApplySeed(context.Background(), seed); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	guard, err := httpguard.Guard(ln.Addr().String(), "", "test")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: guard(eng.Handler())}
	limits.Apply(srv)
	srv.RegisterOnShutdown(eng.CloseWatches)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	return eng, "http://" + ln.Addr().String()
}

type watchAnswer struct {
	status int
	header http.Header
	body   string
	err    error
}

// get sends a query, a watch when wait is not empty.
func watchGet(ctx context.Context, hc *http.Client, url, etag, wait string) watchAnswer {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return watchAnswer{err: err}
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if wait != "" {
		req.Header.Set(wire.HeaderPrefer, wait)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return watchAnswer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return watchAnswer{status: resp.StatusCode, header: resp.Header, body: string(b), err: err}
}

// eventually waits for cond, failing the test after a generous deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func addRule(t *testing.T, eng *Engine, setting, user string, value int) {
	t.Helper()
	_, err := eng.Call(context.Background(), http.MethodPost, "/api/v1/rules",
		map[string]any{"setting": setting, "feature_values": map[string]string{"user": user}, "value": value})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWatch_Advertised(t *testing.T) {
	for _, tc := range []struct {
		name    string
		watch   WatchOptions
		want    string
		wantAny bool
	}{
		{name: "off, as the real service", want: ""},
		{name: "on, default wait", watch: WatchOptions{Enabled: true}, want: "wait=60"},
		{name: "on, 90s", watch: WatchOptions{Enabled: true, MaxWait: 90 * time.Second}, want: "wait=90"},
		{name: "on, under a second", watch: WatchOptions{Enabled: true, MaxWait: time.Millisecond}, want: "wait=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := startEngine(t, Options{ContextFeatures: []string{"user"}, Watch: tc.watch})
			plain := watchGet(context.Background(), srv.Client(), srv.URL+"/api/v1/query", "", "")
			if plain.status != 200 || plain.header.Get(wire.HeaderWatch) != tc.want {
				t.Fatalf("200: %d %s=%q, want %q", plain.status, wire.HeaderWatch, plain.header.Get(wire.HeaderWatch), tc.want)
			}
			nm := watchGet(context.Background(), srv.Client(), srv.URL+"/api/v1/query", plain.header.Get("ETag"), "")
			if nm.status != 304 || nm.header.Get(wire.HeaderWatch) != tc.want {
				t.Fatalf("304: %d %s=%q, want %q", nm.status, wire.HeaderWatch, nm.header.Get(wire.HeaderWatch), tc.want)
			}
			bad := watchGet(context.Background(), srv.Client(), srv.URL+"/api/v1/query?settings=nope", "", "")
			if bad.status != 404 || bad.header.Get(wire.HeaderWatch) != "" {
				t.Fatalf("404: %d %s=%q, want absent", bad.status, wire.HeaderWatch, bad.header.Get(wire.HeaderWatch))
			}
			if tc.want == "" {
				// A watch asked of a server without it is a plain query.
				w := watchGet(context.Background(), srv.Client(), srv.URL+"/api/v1/query", plain.header.Get("ETag"), "wait=5")
				if w.status != 304 || w.header.Get("Preference-Applied") != "" {
					t.Fatalf("watch without the watch: %d %v", w.status, w.header)
				}
			}
		})
	}
}

func TestPreferWait(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  int64
		ok    bool
	}{
		{"plain", []string{"wait=30"}, 30, true},
		{"spaces and case", []string{" Wait = 7 "}, 7, true},
		{"quoted", []string{`wait="9"`}, 9, true},
		{"among others", []string{"respond-async, wait=5;x=y, handling=lenient"}, 5, true},
		{"second line", []string{"return=minimal", "wait=3"}, 3, true},
		{"none", []string{"return=minimal"}, 0, false},
		{"negative", []string{"wait=-1"}, 0, false},
		{"garbage", []string{"wait=soon"}, 0, false},
		{"huge", []string{"wait=99999999999999999999999"}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := preferWait(tc.lines)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("preferWait(%q) = %d, %v; want %d, %v", tc.lines, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// A watch is held until its own answer changes: a change to another setting
// wakes it, it checks again and keeps waiting; the answer is then exactly
// the plain query's.
func TestWatch_HeldUntilItsAnswerChanges(t *testing.T) {
	eng, base := watchEngine(t, WatchOptions{}, httpguard.Limits{})
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	ctx := context.Background()
	first := watchGet(ctx, hc, base+watchQueryPath, "", "")
	etag := first.header.Get("ETag")

	got := make(chan watchAnswer, 1)
	start := time.Now()
	go func() { got <- watchGet(ctx, hc, base+watchQueryPath, etag, "wait=30") }()
	eventually(t, "the watch is held", func() bool { return eng.Watchers() == 1 })

	addRule(t, eng, "beta", "u1", 20) // another setting
	eventually(t, "the watch checked the change", func() bool { return eng.watch.rechecks.Load() >= 1 })
	select {
	case a := <-got:
		t.Fatalf("the watch ended on a change to another setting: %d", a.status)
	default:
	}
	if eng.Watchers() != 1 {
		t.Fatalf("%d watchers after an unrelated change, want 1", eng.Watchers())
	}

	addRule(t, eng, "alpha", "u1", 10)
	a := <-got
	if a.err != nil {
		t.Fatal(a.err)
	}
	if took := time.Since(start); took > 25*time.Second {
		t.Fatalf("the change was answered after %v: the wait ran out instead", took)
	}
	plain := watchGet(ctx, hc, base+watchQueryPath, "", "")
	if a.status != 200 || a.body != plain.body || a.header.Get("ETag") != plain.header.Get("ETag") || a.header.Get("ETag") == etag {
		t.Fatalf("watch answer %d %s %s\nplain %d %s %s", a.status, a.header.Get("ETag"), a.body, plain.status, plain.header.Get("ETag"), plain.body)
	}
	if a.header.Get("Preference-Applied") != "wait=30" || a.header.Get(wire.HeaderWatch) != "wait=60" {
		t.Fatalf("headers %v", a.header)
	}
	eventually(t, "the watch is released", func() bool { return eng.Watchers() == 0 })
}

// The wait is capped at the engine's maximum, and ends in a 304.
func TestWatch_WaitCappedAndEnds(t *testing.T) {
	eng, base := watchEngine(t, WatchOptions{MaxWait: time.Second}, httpguard.Limits{})
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	ctx := context.Background()
	etag := watchGet(ctx, hc, base+watchQueryPath, "", "").header.Get("ETag")
	start := time.Now()
	a := watchGet(ctx, hc, base+watchQueryPath, etag, "wait=3600")
	took := time.Since(start)
	if a.err != nil || a.status != 304 || a.header.Get("ETag") != etag || a.header.Get("Preference-Applied") != "wait=1" {
		t.Fatalf("%v %d %v", a.err, a.status, a.header)
	}
	if took < time.Second {
		t.Fatalf("answered after %v, before the 1s wait", took)
	}
	if took > 20*time.Second {
		t.Fatalf("answered after %v: the wait was not capped", took)
	}
	if eng.Watchers() != 0 {
		t.Fatalf("%d watchers left", eng.Watchers())
	}
}

// A watch whose ETag is already stale, or a query that fails, is answered
// at once.
func TestWatch_AnsweredAtOnce(t *testing.T) {
	eng, base := watchEngine(t, WatchOptions{}, httpguard.Limits{})
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name, path, etag string
		status           int
	}{
		{"stale etag", watchQueryPath, `"00000000000000000000000000000000"`, 200},
		{"unknown setting", "/api/v1/query?settings=nope", `"x"`, 404},
		{"bad filter", "/api/v1/query?context_filters=(", `"x"`, 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := watchGet(ctx, hc, base+tc.path, tc.etag, "wait=60")
			if a.err != nil || a.status != tc.status {
				t.Fatalf("%v %d %s", a.err, a.status, a.body)
			}
		})
	}
	eng.SetDatabaseDown(true)
	a := watchGet(ctx, hc, base+watchQueryPath, `"x"`, "wait=60")
	if a.err != nil || a.status != 500 {
		t.Fatalf("database down: %v %d", a.err, a.status)
	}
}

// A client that goes away releases its watch.
func TestWatch_ClientGoesAway(t *testing.T) {
	eng, base := watchEngine(t, WatchOptions{}, httpguard.Limits{})
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	etag := watchGet(context.Background(), hc, base+watchQueryPath, "", "").header.Get("ETag")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan watchAnswer, 1)
	go func() { done <- watchGet(ctx, hc, base+watchQueryPath, etag, "wait=60") }()
	eventually(t, "the watch is held", func() bool { return eng.Watchers() == 1 })
	cancel()
	if a := <-done; !errors.Is(a.err, context.Canceled) {
		t.Fatalf("err %v", a.err)
	}
	eventually(t, "the watch is released", func() bool { return eng.Watchers() == 0 })
}

// Past the cap a watch is a plain query: answered at once, without
// Preference-Applied.
func TestWatch_Cap(t *testing.T) {
	eng, base := watchEngine(t, WatchOptions{MaxWatchers: 3}, httpguard.Limits{})
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	etag := watchGet(context.Background(), hc, base+watchQueryPath, "", "").header.Get("ETag")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { watchGet(ctx, hc, base+watchQueryPath, etag, "wait=60") })
	}
	eventually(t, "three watches held", func() bool { return eng.Watchers() == 3 })
	a := watchGet(context.Background(), hc, base+watchQueryPath, etag, "wait=60")
	if a.err != nil || a.status != 304 || a.header.Get("Preference-Applied") != "" || a.header.Get(wire.HeaderWatch) != "wait=60" {
		t.Fatalf("over the cap: %v %d %v", a.err, a.status, a.header)
	}
	if eng.Watchers() != 3 {
		t.Fatalf("%d watchers", eng.Watchers())
	}
	cancel()
	wg.Wait()
	eventually(t, "every watch released", func() bool { return eng.Watchers() == 0 })
}

// The listener's read bounds do not cut a watch: it is held well past each
// of them and still answered.
func TestWatch_NotCutByListenerLimits(t *testing.T) {
	short := 150 * time.Millisecond
	eng, base := watchEngine(t, WatchOptions{}, httpguard.Limits{ReadHeaderTimeout: short, ReadBodyTimeout: short, IdleTimeout: short})
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	etag := watchGet(context.Background(), hc, base+watchQueryPath, "", "").header.Get("ETag")
	got := make(chan watchAnswer, 1)
	go func() { got <- watchGet(context.Background(), hc, base+watchQueryPath, etag, "wait=60") }()
	eventually(t, "the watch is held", func() bool { return eng.Watchers() == 1 })
	held := time.Now()
	for time.Since(held) < 8*short { // longer than every bound, several times
		time.Sleep(short)
	}
	addRule(t, eng, "alpha", "u1", 10)
	if a := <-got; a.err != nil || a.status != 200 {
		t.Fatalf("%v %d", a.err, a.status)
	}
}

// Shutting the server down with a thousand watches held returns at once:
// every watch is answered, and nothing is left running (goleak, TestMain).
func TestWatch_ShutdownWithThousandWatchers(t *testing.T) {
	const n = 1000
	eng, err := New(Options{Watch: WatchOptions{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	guard, err := httpguard.Guard(ln.Addr().String(), "", "test")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: guard(eng.Handler())}
	httpguard.Limits{}.Apply(srv)
	srv.RegisterOnShutdown(eng.CloseWatches)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	url := "http://" + ln.Addr().String() + "/api/v1/query"
	tr := &http.Transport{MaxIdleConnsPerHost: n}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	etag := watchGet(context.Background(), hc, url, "", "").header.Get("ETag")
	answers := make(chan watchAnswer, n)
	for range n {
		go func() { answers <- watchGet(context.Background(), hc, url, etag, "wait=60") }()
	}
	eventually(t, strconv.Itoa(n)+" watches held", func() bool { return eng.Watchers() == n })

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	took := time.Since(start)
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatal(err)
	}
	statuses := map[string]int{}
	for range n {
		a := <-answers
		k := strconv.Itoa(a.status)
		if a.err != nil {
			k = "error"
		}
		statuses[k]++
	}
	if statuses["304"] != n {
		t.Errorf("answers %v, want %d × 304", statuses, n)
	}
	// Without CloseWatches, Shutdown would wait out the 60 s watches.
	if took > 20*time.Second {
		t.Fatalf("shutdown took %v", took)
	}
	if eng.Watchers() != 0 {
		t.Fatalf("%d watchers left", eng.Watchers())
	}
	t.Logf("shutdown with %d watches held: %v", n, took)
}

// Do (no HTTP) never holds.
func TestWatch_DoIsPlain(t *testing.T) {
	eng, err := New(Options{Watch: WatchOptions{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	status, _, err := eng.Do(context.Background(), http.MethodGet, "/api/v1/query", nil)
	if err != nil || status != 200 {
		t.Fatal(status, err)
	}
}

// A change made while many watches are held wakes every one of them that
// watches it, each with its own ETag.
func TestWatch_ManyQueries(t *testing.T) {
	eng, base := watchEngine(t, WatchOptions{}, httpguard.Limits{})
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer hc.CloseIdleConnections()
	ctx := context.Background()
	paths := []string{
		"/api/v1/query?settings=alpha",
		"/api/v1/query?settings=alpha,beta",
		"/api/v1/query?settings=beta",
		"/api/v1/query",
		"/api/v1/query?settings=alpha&context_filters=user:(u1)",
	}
	type res struct {
		i int
		a watchAnswer
	}
	got := make(chan res, len(paths))
	for i, p := range paths {
		etag := watchGet(ctx, hc, base+p, "", "").header.Get("ETag")
		go func() { got <- res{i, watchGet(ctx, hc, base+p, etag, "wait=30")} }()
	}
	eventually(t, "watches held", func() bool { return eng.Watchers() == len(paths) })
	addRule(t, eng, "alpha", "u1", 10)
	// Every query naming alpha changes; the beta-only one stays held.
	for range len(paths) - 1 {
		r := <-got
		if r.a.status != 200 || paths[r.i] == "/api/v1/query?settings=beta" {
			t.Fatalf("%s: %d", paths[r.i], r.a.status)
		}
	}
	eventually(t, "one watch left", func() bool { return eng.Watchers() == 1 })
	addRule(t, eng, "beta", "u2", 30)
	if r := <-got; r.a.status != 200 || paths[r.i] != "/api/v1/query?settings=beta" {
		t.Fatalf("%s: %d", paths[r.i], r.a.status)
	}
}
