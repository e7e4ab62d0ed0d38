package relay_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/internal/server"
	"github.com/heksher-go/heksher/relay"
)

// BenchmarkRelay304 is the cost of a 304 through the relay's handler (the
// replica engine plus the relay's wrapper: the snapshot-age header and the
// 404 hold) beside the same engine's handler alone, for a client naming
// 1,000 settings. In-process, no network.
func BenchmarkRelay304(b *testing.B) {
	up := hekshertest.NewServer(b, hekshertest.WithContextFeatures("user"))
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("setting_%04d", i)
		if err := up.Declare(hekshertest.Setting{Name: names[i], Type: "int", Default: i, ConfigurableFeatures: []string{"user"}}); err != nil {
			b.Fatal(err)
		}
	}
	r, err := relay.New(context.Background(), relay.Options{Upstream: up.URL, Interval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Close(context.Background()) })
	if err := r.Wait(context.Background()); err != nil {
		b.Fatal(err)
	}
	// The same settings in an engine of its own, served by its handler.
	eng, err := server.New(server.Options{ContextFeatures: []string{"user"}, Watch: server.WatchOptions{Enabled: true}})
	if err != nil {
		b.Fatal(err)
	}
	for i, n := range names {
		body := fmt.Appendf(nil, `{"name":%q,"configurable_features":["user"],"type":"int","default_value":%d}`, n, i)
		if st, _, err := eng.Do(context.Background(), http.MethodPost, "/api/v1/settings/declare", body); err != nil || st != http.StatusOK {
			b.Fatal(st, err)
		}
	}
	target := "/api/v1/query?settings=" + strings.Join(names, ",")
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"engine", eng.Handler()}, {"relay", r.Handler()}} {
		rec := httptest.NewRecorder()
		bc.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		etag := rec.Header().Get("ETag")
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.Header.Set("If-None-Match", etag)
			for b.Loop() {
				w := httptest.NewRecorder()
				bc.h.ServeHTTP(w, req)
				if w.Code != http.StatusNotModified {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
