package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one load: who sends what, how often, for how long. The zero
// value of each field but URLs and Duration means its default.
type Config struct {
	// URLs holds one URL per simulated client (a URL may repeat). Required.
	URLs []string
	// Interval is how often each client polls. Zero runs a closed loop:
	// every worker sends again as soon as it has an answer.
	Interval time.Duration
	// Duration is how long polls are started. Required.
	Duration time.Duration
	// Workers is the number of requests in flight at most, and of
	// connections (default 16, at most the number of clients).
	Workers int
	// Header is added to every request (nil for none).
	Header http.Header
	// IgnoreETag: no request carries If-None-Match (default: each client
	// sends the ETag of its last 200).
	IgnoreETag bool
	// Timeout bounds each request (default 10 s).
	Timeout time.Duration
	// Client sends the requests (default: a client of its own whose
	// transport keeps Workers connections, closed when Run returns).
	Client *http.Client
	// Success reports whether an answer's status counts as a success; the
	// others count as errors (default: 200 and 304).
	Success func(status int) bool
}

// lateAfter is how far behind its schedule a poll may start before it
// counts as late: beyond it, the measured latency no longer includes all
// the waiting a real client would see.
const lateAfter = 10 * time.Millisecond

// Run sends the load that c describes and returns what it measured.
//
// # Errors
//
// A Config without URLs or Duration, or ctx done before Duration passed
// (the Result then holds what was measured until then). Failed requests are
// not errors of Run: they are counted in [Result.Errors].
func Run(ctx context.Context, c Config) (*Result, error) {
	if len(c.URLs) == 0 || c.Duration <= 0 {
		return nil, errors.New("loadgen: a config needs URLs and a Duration")
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	c.Workers = min(c.Workers, len(c.URLs))
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Success == nil {
		c.Success = func(s int) bool { return s == http.StatusOK || s == http.StatusNotModified }
	}
	client := c.Client
	if client == nil {
		tr := &http.Transport{MaxConnsPerHost: c.Workers, MaxIdleConnsPerHost: c.Workers}
		client = &http.Client{Transport: tr}
		defer tr.CloseIdleConnections()
	}
	r := &run{c: c, client: client, clients: make([]clientState, len(c.URLs)), workers: make([]workerStats, c.Workers)}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	end := start.Add(c.Duration)
	var wg sync.WaitGroup
	if c.Interval > 0 {
		due := make(chan poll, c.Workers)
		for w := range c.Workers {
			wg.Go(func() {
				for p := range due {
					r.send(ctx, w, p.client, p.at)
				}
			})
		}
		r.schedule(ctx, start, end, due)
		close(due)
	} else {
		// Worker w sends for clients w, w+Workers, w+2×Workers… in turn, so
		// a client is never in flight twice.
		for w := range c.Workers {
			wg.Go(func() {
				for i := w; ctx.Err() == nil && time.Now().Before(end); {
					r.send(ctx, w, i, time.Time{})
					if i += c.Workers; i >= len(c.URLs) {
						i = w
					}
				}
			})
		}
	}
	wg.Wait()
	res := r.result(time.Since(start))
	if err := ctx.Err(); err != nil && time.Now().Before(end) {
		return res, fmt.Errorf("loadgen: stopped before the end of the run: %w", err)
	}
	return res, nil
}

// run is the state of one Run.
type run struct {
	c       Config
	client  *http.Client
	clients []clientState
	workers []workerStats
	skipped atomic.Int64
}

// clientState is what a simulated client keeps between its polls.
type clientState struct {
	busy atomic.Bool // a poll is in flight; also orders etag's writes and reads
	etag string
}

// workerStats is what one worker measured; only that worker writes it.
type workerStats struct {
	latencies []time.Duration
	status    map[int]int
	errors    int
	late      int
	maxLag    time.Duration
	firstErr  error
}

type poll struct {
	client int
	at     time.Time // when it was due
}

// schedule hands every poll due before end to the workers, in time order.
func (r *run) schedule(ctx context.Context, start, end time.Time, due chan<- poll) {
	n := len(r.c.URLs)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for k := 0; ; k++ {
		i := k % n
		at := start.Add(time.Duration(k/n)*r.c.Interval + time.Duration(i)*r.c.Interval/time.Duration(n))
		if !at.Before(end) {
			return
		}
		if wait := time.Until(at); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		if !r.clients[i].busy.CompareAndSwap(false, true) {
			r.skipped.Add(1)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case due <- poll{client: i, at: at}:
		}
	}
}

// send sends client i's request on worker w's account; at is when it was
// due (zero in a closed loop).
func (r *run) send(ctx context.Context, w, i int, at time.Time) {
	st := &r.workers[w]
	cl := &r.clients[i]
	if !at.IsZero() {
		defer cl.busy.Store(false)
		if lag := time.Since(at); lag > lateAfter {
			st.late++
			st.maxLag = max(st.maxLag, lag)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, r.c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.c.URLs[i], nil)
	if err != nil {
		st.fail(err)
		return
	}
	for k, vs := range r.c.Header {
		req.Header[k] = vs
	}
	if cl.etag != "" && !r.c.IgnoreETag {
		req.Header.Set("If-None-Match", cl.etag)
	}
	begin := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		st.fail(err)
		return
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(begin)
	if err != nil {
		st.fail(fmt.Errorf("loadgen: reading the answer of %s: %w", r.c.URLs[i], err))
		return
	}
	if st.status == nil {
		st.status = map[int]int{}
	}
	st.status[resp.StatusCode]++
	if !r.c.Success(resp.StatusCode) {
		st.fail(fmt.Errorf("loadgen: %s answered %s", r.c.URLs[i], resp.Status))
		return
	}
	if resp.StatusCode == http.StatusOK {
		cl.etag = resp.Header.Get("ETag")
	}
	st.latencies = append(st.latencies, took)
}

// fail counts a failed request and keeps the first error.
func (st *workerStats) fail(err error) {
	st.errors++
	if st.firstErr == nil {
		st.firstErr = err
	}
}
