package hekshertest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/internal/wire"
)

func query(t *testing.T, srv *hekshertest.Server, ctx context.Context, etag, wait string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/query", nil)
	if err != nil {
		t.Fatal(err)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if wait != "" {
		req.Header.Set(wire.HeaderPrefer, wait)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestWatch_OnByDefault(t *testing.T) {
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user"),
		hekshertest.WithSettings(hekshertest.Setting{Name: "x", Type: "int", Default: 1, ConfigurableFeatures: []string{"user"}}))
	first := query(t, srv, context.Background(), "", "")
	if got := first.Header.Get(wire.HeaderWatch); got != "wait=60" {
		t.Fatalf("%s = %q", wire.HeaderWatch, got)
	}
	done := make(chan *http.Response, 1)
	etag := first.Header.Get("ETag")
	go func() {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/query", nil)
		req.Header.Set("If-None-Match", etag)
		req.Header.Set(wire.HeaderPrefer, "wait=30")
		resp, err := srv.Client().Do(req)
		if err != nil {
			resp = &http.Response{StatusCode: -1}
		} else {
			resp.Body.Close()
		}
		done <- resp
	}()
	time.Sleep(10 * time.Millisecond) // let the watch start; the answer is 200 either way
	if _, err := srv.AddRule("x", map[string]string{"user": "a"}, 2); err != nil {
		t.Fatal(err)
	}
	select {
	case resp := <-done:
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the watch did not end with the change")
	}
}

func TestWatch_Without(t *testing.T) {
	srv := hekshertest.NewServer(t, hekshertest.WithoutWatch())
	first := query(t, srv, context.Background(), "", "")
	if got, ok := first.Header[wire.HeaderWatch]; ok {
		t.Fatalf("%s = %q, want absent", wire.HeaderWatch, got)
	}
	start := time.Now()
	resp := query(t, srv, context.Background(), first.Header.Get("ETag"), "wait=30")
	if resp.StatusCode != 304 || time.Since(start) > 10*time.Second || resp.Header.Get("Preference-Applied") != "" {
		t.Fatalf("%d after %v, %v", resp.StatusCode, time.Since(start), resp.Header)
	}
}

// Close ends the watches held at once.
func TestWatch_Close(t *testing.T) {
	srv := hekshertest.NewServer(t, hekshertest.WithWatchLimits(time.Hour, 0))
	etag := query(t, srv, context.Background(), "", "").Header.Get("ETag")
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/query", nil)
		req.Header.Set("If-None-Match", etag)
		req.Header.Set(wire.HeaderPrefer, "wait=3600")
		if resp, err := srv.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	srv.Close()
	<-done
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("Close took %v", took)
	}
}
