package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// etagServer answers every path with an ETag of its own ("path-N", N the
// server's version) and 304 when If-None-Match names it; it records the
// If-None-Match of every request by path and fails the test when one
// client (one path) has two requests in flight.
type etagServer struct {
	t        *testing.T
	mu       sync.Mutex
	version  int
	inflight map[string]bool
	seen     map[string][]string // If-None-Match by path, in order
	// onRequest, when set, is called (under mu) with the number of
	// clients seen so far.
	onRequest func(clients int)
}

func newETagServer(t *testing.T) (*etagServer, *httptest.Server) {
	s := &etagServer{t: t, inflight: map[string]bool{}, seen: map[string][]string{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *etagServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.inflight[r.URL.Path] {
		s.t.Errorf("client %s has two requests in flight", r.URL.Path)
	}
	s.inflight[r.URL.Path] = true
	s.seen[r.URL.Path] = append(s.seen[r.URL.Path], r.Header.Get("If-None-Match"))
	if s.onRequest != nil {
		s.onRequest(len(s.seen))
	}
	etag := fmt.Sprintf(`"%s-%d"`, strings.TrimPrefix(r.URL.Path, "/"), s.version)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight[r.URL.Path] = false
		s.mu.Unlock()
	}()
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write([]byte("{}"))
}

func urls(base string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/c%d", base, i)
	}
	return out
}

func TestRun_Polling(t *testing.T) {
	s, srv := newETagServer(t)
	const clients, polls = 20, 5
	res, err := Run(context.Background(), Config{
		URLs:     urls(srv.URL, clients),
		Interval: 200 * time.Millisecond,
		Duration: polls * 200 * time.Millisecond,
		Workers:  4,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	// Every poll due is sent or skipped, none twice.
	if got := res.Requests() + res.Errors + res.Skipped; got != clients*polls {
		t.Errorf("requests + errors + skipped = %d, want %d (%v)", got, clients*polls, res)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range clients {
		path := fmt.Sprintf("/c%d", i)
		seen := s.seen[path]
		if len(seen) == 0 {
			t.Fatalf("client %d never polled", i)
		}
		// The first poll has no ETag; every later one carries the
		// client's own.
		want := fmt.Sprintf(`"c%d-0"`, i)
		for k, inm := range seen {
			if (k == 0 && inm != "") || (k > 0 && inm != want) {
				t.Fatalf("client %d poll %d sent If-None-Match %q", i, k, inm)
			}
		}
	}
	if res.Status[http.StatusOK] != clients {
		t.Errorf("%d answers 200, want one per client (%d): %v", res.Status[http.StatusOK], clients, res)
	}
}

func TestRun_ClosedLoop(t *testing.T) {
	s, srv := newETagServer(t)
	// The run ends once every client has sent a request (7 clients over 3
	// workers: a client still never runs twice at once), however slow the
	// machine; a minute is only the bound.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.onRequest = func(clients int) {
		if clients == 7 {
			cancel()
		}
	}
	res, err := Run(ctx, Config{URLs: urls(srv.URL, 7), Duration: time.Minute, Workers: 3})
	if !errors.Is(err, context.Canceled) || res == nil {
		t.Fatalf("Run = %v, %v; want the result and context.Canceled once every client sent", res, err)
	}
	t.Log(res)
	if res.Requests() == 0 || res.Rate() <= 0 {
		t.Fatalf("closed loop: %v", res)
	}
	if res.Percentile(0.5) > res.Percentile(0.99) || res.Percentile(0.99) > res.Max() {
		t.Errorf("percentiles out of order: %v", res)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) != 7 {
		t.Errorf("%d clients sent requests, want 7", len(s.seen))
	}
}

func TestRun_Errors(t *testing.T) {
	_, srv := newETagServer(t)
	for _, tc := range []struct {
		name string
		c    Config
	}{
		{"no URLs", Config{Duration: time.Second}},
		{"no duration", Config{URLs: []string{srv.URL}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Run(context.Background(), tc.c); err == nil {
				t.Fatal("Run accepted the config")
			}
		})
	}

	t.Run("refused status", func(t *testing.T) {
		res, err := Run(context.Background(), Config{
			URLs: []string{srv.URL + "/a"}, Duration: 100 * time.Millisecond, Workers: 1,
			Success: func(s int) bool { return s == http.StatusTeapot },
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests() != 0 || res.Errors == 0 || res.Status[http.StatusOK]+res.Status[http.StatusNotModified] != res.Errors {
			t.Fatalf("every answer should be an error: %v", res)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		begin := time.Now()
		res, err := Run(ctx, Config{URLs: urls(srv.URL, 4), Interval: 50 * time.Millisecond, Duration: time.Hour})
		if !errors.Is(err, context.Canceled) || res == nil {
			t.Fatalf("Run = %v, %v; want the partial result and context.Canceled", res, err)
		}
		if took := time.Since(begin); took > time.Minute {
			t.Fatalf("Run took %v after its context was cancelled", took)
		}
	})
}
