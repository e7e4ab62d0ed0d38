package host

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/internal/wire"
)

// The embedded server offers the watch, so the host's own update loop gets
// a rule change at once, and closing it with a watch held does not wait for
// the watch.
func TestEmbeddedServerWatch(t *testing.T) {
	cfg := config.Config{ContextFeatures: []string{"user"}}
	cfg.Embedded.Listen = "127.0.0.1:0"
	e, err := startEmbedded(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = e.Close(context.Background())
		}
	})
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(e.URL() + "/api/v1/query")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get(wire.HeaderWatch); got != "wait=60" {
		t.Fatalf("%s = %q, want wait=60", wire.HeaderWatch, got)
	}
	held := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, e.URL()+"/api/v1/query", nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		req.Header.Set(wire.HeaderPrefer, "wait=60")
		r, err := hc.Do(req)
		if err != nil {
			held <- -1
			return
		}
		r.Body.Close()
		held <- r.StatusCode
	}()
	deadline := time.Now().Add(20 * time.Second)
	for e.engine.Watchers() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the watch was not held")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	closed = true
	if took := time.Since(start); took > 15*time.Second {
		t.Fatalf("Close took %v with a watch held", took)
	}
	if st := <-held; st != http.StatusNotModified {
		t.Fatalf("the held watch got %d", st)
	}
}
