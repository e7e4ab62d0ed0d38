package loadgen

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Result is what one [Run] measured.
type Result struct {
	// Elapsed is from the start of the run until its last answer.
	Elapsed time.Duration
	// Latencies holds the time from sending each successful request to
	// the end of its answer's body, sorted.
	Latencies []time.Duration
	// Status counts the answers by status code, errors included.
	Status map[int]int
	// Errors counts the requests that failed: no answer, a body cut short,
	// or a status that Config.Success refuses; FirstError is one of them
	// (nil with none).
	Errors     int
	FirstError error
	// Late counts the polls that started more than 10 ms after they were
	// due, because every worker was busy; MaxLag is the latest of them.
	Late   int
	MaxLag time.Duration
	// Skipped counts the polls not sent because the client's previous poll
	// was still in flight.
	Skipped int
}

func (r *run) result(elapsed time.Duration) *Result {
	res := &Result{Elapsed: elapsed, Status: map[int]int{}, Skipped: int(r.skipped.Load())}
	for i := range r.workers {
		st := &r.workers[i]
		res.Latencies = append(res.Latencies, st.latencies...)
		for code, n := range st.status {
			res.Status[code] += n
		}
		res.Errors += st.errors
		if res.FirstError == nil {
			res.FirstError = st.firstErr
		}
		res.Late += st.late
		res.MaxLag = max(res.MaxLag, st.maxLag)
	}
	slices.Sort(res.Latencies)
	return res
}

// Requests returns the number of successful requests.
func (r *Result) Requests() int { return len(r.Latencies) }

// Rate returns the successful requests per second.
func (r *Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.Latencies)) / r.Elapsed.Seconds()
}

// Percentile returns the latency below which the fraction p (0 to 1) of
// the successful requests fall (nearest rank), 0 with none.
func (r *Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	p = min(max(p, 0), 1)
	return r.Latencies[int(p*float64(len(r.Latencies)-1))]
}

// Max returns the largest latency, 0 with no successful request.
func (r *Result) Max() time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	return r.Latencies[len(r.Latencies)-1]
}

// String returns the result on one line: "requests=… errors=… rate=…/s
// p50=… p90=… p99=… max=…", followed by the answers by status and the late
// and skipped polls when there are any.
func (r *Result) String() string {
	s := fmt.Sprintf("requests=%d errors=%d rate=%.0f/s p50=%v p90=%v p99=%v max=%v",
		r.Requests(), r.Errors, r.Rate(), r.Percentile(0.50), r.Percentile(0.90), r.Percentile(0.99), r.Max())
	if len(r.Status) > 1 {
		s += " status="
		for i, code := range slices.Sorted(maps.Keys(r.Status)) {
			if i > 0 {
				s += ","
			}
			s += fmt.Sprintf("%d:%d", code, r.Status[code])
		}
	}
	if r.Late > 0 {
		s += fmt.Sprintf(" late=%d maxlag=%v", r.Late, r.MaxLag)
	}
	if r.Skipped > 0 {
		s += fmt.Sprintf(" skipped=%d", r.Skipped)
	}
	if r.FirstError != nil {
		s += fmt.Sprintf(" (first error: %v)", r.FirstError)
	}
	return s
}
