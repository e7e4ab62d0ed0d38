// Command loadgen measures the latency of heksher-host's lookup API from a
// separate process: c workers send GET requests to url over keep-alive
// connections for d, then it prints the request rate and latency
// percentiles. Used for BENCHMARKS.md:
//
//	go run ./cmd/heksher-host/internal/loadgen -url 'http://127.0.0.1:7070/api/v1/lookup/banner?user=alice' -c 4 -d 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "URL to GET")
	c := flag.Int("c", 4, "concurrent workers")
	d := flag.Duration("d", 10*time.Second, "duration")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "loadgen: -url is required")
		os.Exit(2)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *c}}
	ctx, cancel := context.WithTimeout(context.Background(), *d)
	defer cancel()
	lat := make([][]time.Duration, *c)
	errs := make([]int, *c)
	var wg sync.WaitGroup
	for w := range *c {
		wg.Go(func() {
			for ctx.Err() == nil {
				start := time.Now()
				resp, err := client.Get(*url)
				if err != nil {
					errs[w]++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs[w]++
					continue
				}
				lat[w] = append(lat[w], time.Since(start))
			}
		})
	}
	wg.Wait()
	var all []time.Duration
	nerr := 0
	for w := range *c {
		all = append(all, lat[w]...)
		nerr += errs[w]
	}
	if len(all) == 0 {
		fmt.Fprintln(os.Stderr, "loadgen: no successful request")
		os.Exit(1)
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[int(p*float64(len(all)-1))] }
	fmt.Printf("requests=%d errors=%d rate=%.0f/s p50=%v p90=%v p99=%v max=%v\n",
		len(all), nerr, float64(len(all))/d.Seconds(), pct(0.50), pct(0.90), pct(0.99), all[len(all)-1])
}
