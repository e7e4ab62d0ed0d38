package heksher

import (
	"log/slog"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		name string
		b    Backoff
		n    int
		want time.Duration
	}{
		{"defaults first", Backoff{}, 1, 100 * time.Millisecond},
		{"defaults doubles", Backoff{}, 3, 400 * time.Millisecond},
		{"defaults capped", Backoff{}, 50, 30 * time.Second},
		{"custom", Backoff{Initial: time.Second, Max: 5 * time.Second}, 3, 4 * time.Second},
		{"custom capped", Backoff{Initial: time.Second, Max: 5 * time.Second}, 4, 5 * time.Second},
		{"max below initial", Backoff{Initial: time.Second, Max: time.Millisecond}, 2, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.b.Ceiling(tc.n); got != tc.want {
				t.Fatalf("Ceiling(%d) = %v, want %v", tc.n, got, tc.want)
			}
			for range 100 {
				if got := tc.b.Delay(tc.n); got > tc.want || got < tc.want*8/10 {
					t.Fatalf("Delay(%d) = %v, want within the default 20%% jitter below %v", tc.n, got, tc.want)
				}
			}
		})
	}
}

// withDefaultLogger makes slog.Default a capture for one test (not
// parallel: the default logger is process-wide) and restores it.
func withDefaultLogger(t *testing.T) *logCapture {
	t.Helper()
	prev := slog.Default()
	lc, log := newLogCapture()
	slog.SetDefault(log)
	t.Cleanup(func() { slog.SetDefault(prev) })
	return lc
}

// Without WithLogger a client reports to slog.Default, like the standard
// library: a service that cannot be reached is visible out of the box.
func TestNewClient_DefaultLoggerIsSlogDefault(t *testing.T) {
	lc := withDefaultLogger(t)
	freshMain(t)
	c, err := NewClient(deadURL(t), time.Hour, []string{"a"})
	mustNil(t, err)
	t.Cleanup(func() { _ = c.Close() })
	if err := c.SetAsMain(ctxT(t)); err == nil {
		t.Fatal("SetAsMain against a closed port succeeded")
	}
	if !lc.has(slog.LevelError, "^failure to get context_features from heksher service$") {
		t.Fatalf("nothing reached slog.Default:\n%s", lc.dump())
	}
}
