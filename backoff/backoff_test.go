package backoff

import (
	"testing"
	"time"
)

func TestZeroValueUsesDefaults(t *testing.T) {
	p := Policy{}.Normalize()
	if p.Initial != DefaultInitial || p.Max != DefaultMax || p.Jitter != DefaultJitter {
		t.Fatalf("Normalize() = %+v, want the defaults", p)
	}
}

func TestCeilingDoublesUpToMax(t *testing.T) {
	p := Policy{Initial: time.Second, Max: 10 * time.Second}
	want := []time.Duration{time.Second, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for n, w := range want {
		if got := p.Ceiling(n); got != w {
			t.Errorf("Ceiling(%d) = %v, want %v", n, got, w)
		}
	}
	if got := p.Ceiling(1 << 30); got != 10*time.Second {
		t.Errorf("Ceiling(huge) = %v, want the ceiling", got)
	}
}

func TestMaxBelowInitialIsRaised(t *testing.T) {
	if got := (Policy{Initial: time.Minute, Max: time.Second}).Ceiling(3); got != time.Minute {
		t.Fatalf("Ceiling = %v, want Initial", got)
	}
}

func TestDelayStaysWithinJitterAndCeiling(t *testing.T) {
	p := Policy{Initial: time.Second, Max: 8 * time.Second, Jitter: 0.5}
	seen := map[time.Duration]bool{}
	for i := 0; i < 1000; i++ {
		for n := 1; n <= 6; n++ {
			c := p.Ceiling(n)
			d := p.Delay(n)
			if d > c || d < c/2 {
				t.Fatalf("Delay(%d) = %v, want in [%v, %v]", n, d, c/2, c)
			}
			if n == 6 {
				seen[d] = true
			}
		}
	}
	// Lock-step retries are what jitter exists to prevent: a thousand
	// draws at the ceiling must not collapse onto a few values.
	if len(seen) < 500 {
		t.Fatalf("1000 delays at the ceiling took only %d distinct values", len(seen))
	}
}

func TestNegativeJitterIsExact(t *testing.T) {
	p := Policy{Initial: time.Second, Max: 4 * time.Second, Jitter: -1}
	for n := 1; n <= 4; n++ {
		if d, c := p.Delay(n), p.Ceiling(n); d != c {
			t.Fatalf("Delay(%d) = %v, want exactly %v", n, d, c)
		}
	}
}

func TestNormalizeIsIdempotent(t *testing.T) {
	for _, p := range []Policy{{}, {Jitter: -1}, {Jitter: -0.5}, {Jitter: 2}, {Initial: time.Second, Max: time.Millisecond, Jitter: 0.3}} {
		once := p.Normalize()
		if twice := once.Normalize(); twice != once {
			t.Errorf("Normalize(%+v) = %+v, but normalizing that gives %+v", p, once, twice)
		}
	}
	if d, c := (Policy{Jitter: -1}).Normalize().Delay(3), (Policy{}).Ceiling(3); d != c {
		t.Errorf("a normalized exact policy waits %v, want %v", d, c)
	}
}
