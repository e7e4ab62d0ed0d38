// Package backoff is the one retry schedule of heksher-go: the client's
// declaration and update retries, the host's plugin restarts and a relay's
// upstream retries all wait by it.
//
// The wait doubles from Initial up to Max, and each wait is shortened by a
// random fraction of up to Jitter of itself, so that a fleet restarted after
// the same outage does not retry in lock-step. The jitter only ever
// shortens a wait: Max stays a ceiling.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Defaults applied by [Policy.Normalize] to zero fields.
const (
	DefaultInitial = 100 * time.Millisecond
	DefaultMax     = 30 * time.Second
	DefaultJitter  = 0.2
)

// Policy is an exponential backoff with a ceiling and jitter. The zero
// value is usable: it means the defaults.
type Policy struct {
	// Initial is the first wait. Zero means DefaultInitial.
	Initial time.Duration
	// Max caps every wait. Zero means DefaultMax; a Max below Initial is
	// raised to Initial.
	Max time.Duration
	// Jitter is the largest fraction of a wait that is randomly taken off
	// it, in (0, 1]. Zero means DefaultJitter; a negative value turns
	// jitter off (for tests that need exact waits) and stays negative
	// through Normalize, so a normalized policy normalizes to itself.
	Jitter float64
}

// Normalize returns p with its defaults applied and its fields in range.
func (p Policy) Normalize() Policy {
	if p.Initial <= 0 {
		p.Initial = DefaultInitial
	}
	if p.Max <= 0 {
		p.Max = DefaultMax
	}
	p.Max = max(p.Max, p.Initial)
	switch {
	case p.Jitter == 0:
		p.Jitter = DefaultJitter
	case p.Jitter < 0:
		p.Jitter = -1
	case p.Jitter > 1:
		p.Jitter = 1
	}
	return p
}

// Ceiling returns the wait before attempt n (1 for the first retry) without
// jitter: Initial doubled n-1 times, capped at Max. n below 1 counts as 1.
// p is normalized first.
func (p Policy) Ceiling(n int) time.Duration {
	p = p.Normalize()
	d := p.Initial
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// Delay returns the wait before attempt n (1 for the first retry): the
// [Policy.Ceiling] less a random fraction of up to Jitter of it. It is
// safe for concurrent use.
func (p Policy) Delay(n int) time.Duration {
	p = p.Normalize()
	d := p.Ceiling(n)
	if p.Jitter <= 0 || d <= 0 {
		return d
	}
	cut := time.Duration(rand.Float64() * p.Jitter * float64(d))
	return d - cut
}
