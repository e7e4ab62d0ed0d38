package main

import (
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/heksher-go/heksher/internal/wire"
)

// The command offers the watch, and a SIGTERM with watches held shuts down
// at once: without CloseWatches on shutdown it would wait out the watch
// (here an hour, cut by -shutdown-timeout into a failed shutdown).
func TestCommandWatchAndShutdown(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"default", nil, "wait=60"},
		{"an hour", []string{"-watch-max-wait", "1h"}, "wait=3600"},
		{"off", []string{"-watch-max-wait", "0"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, append([]string{"-addr", "127.0.0.1:0", "-shutdown-timeout", "30s"}, tc.args...)...)
			hc := &http.Client{Transport: &http.Transport{}}
			defer hc.CloseIdleConnections()
			resp, err := hc.Get(p.url + "/api/v1/query")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get(wire.HeaderWatch); got != tc.want {
				t.Fatalf("%s = %q, want %q", wire.HeaderWatch, got, tc.want)
			}
			held := make(chan int, 1)
			go func() {
				req, _ := http.NewRequest(http.MethodGet, p.url+"/api/v1/query", nil)
				req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
				req.Header.Set(wire.HeaderPrefer, "wait=3600")
				r, err := hc.Do(req)
				if err != nil {
					held <- -1
					return
				}
				r.Body.Close()
				held <- r.StatusCode
			}()
			time.Sleep(50 * time.Millisecond) // let the watch reach the server; the outcome is the same if not
			start := time.Now()
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := p.wait(t); err != nil {
				t.Fatalf("exit after SIGTERM: %v\n%s", err, p.output())
			}
			if took := time.Since(start); took > 15*time.Second {
				t.Fatalf("shutdown took %v", took)
			}
			if st := <-held; st != http.StatusNotModified {
				t.Fatalf("the held watch got %d", st)
			}
		})
	}
}
