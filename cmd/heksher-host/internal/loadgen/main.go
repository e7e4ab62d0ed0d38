// Command loadgen measures the latency of heksher-host's lookup API from a
// separate process: c workers send GET requests to url over keep-alive
// connections for d, then it prints the request rate and latency
// percentiles. Used for BENCHMARKS.md:
//
//	go run ./cmd/heksher-host/internal/loadgen -url 'http://127.0.0.1:7070/api/v1/lookup/banner?user=alice' -c 4 -d 10s
//
// The load is package internal/loadgen's closed loop; only answers 200
// count as successes.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/heksher-go/heksher/internal/loadgen"
)

func main() {
	url := flag.String("url", "", "URL to GET")
	c := flag.Int("c", 4, "concurrent workers")
	d := flag.Duration("d", 10*time.Second, "duration")
	flag.Parse()
	if *url == "" || *c < 1 {
		fmt.Fprintln(os.Stderr, "loadgen: -url is required, and -c must be at least 1")
		os.Exit(2)
	}
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		URLs:       slices.Repeat([]string{*url}, *c),
		Duration:   *d,
		Workers:    *c,
		IgnoreETag: true,
		Success:    func(status int) bool { return status == http.StatusOK },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if res.Requests() == 0 {
		fmt.Fprintln(os.Stderr, "loadgen: no successful request:", res)
		os.Exit(1)
	}
	fmt.Println(res)
}
