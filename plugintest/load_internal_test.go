package plugintest

import (
	"testing"
	"time"
)

// deadlineTB is a testing.TB with a deadline of its own, or none.
type deadlineTB struct {
	testing.TB
	end time.Time
}

func (d deadlineTB) Deadline() (time.Time, bool) { return d.end, !d.end.IsZero() }

// New's loading is bounded by the test's deadline, not by a fixed 30 s
// (which failed a Go wasm module's first compilation under -race on a
// loaded machine, 43 s, whatever StartTimeout said), and without a deadline
// by DefaultLoadTimeout plus StartTimeout.
func TestLoadContextFollowsTheTestDeadline(t *testing.T) {
	tests := []struct {
		name     string
		end      time.Duration // from now; 0 means no deadline
		start    time.Duration // Options.StartTimeout
		min, max time.Duration // the bound's range
	}{
		{"the test's deadline, less a tenth", 10 * time.Minute, 0, 8*time.Minute + 50*time.Second, 9*time.Minute + time.Second},
		{"a long StartTimeout within the deadline", 10 * time.Minute, 2 * time.Minute, 8*time.Minute + 50*time.Second, 9*time.Minute + time.Second},
		{"the margin is at most a minute", time.Hour, 0, 58*time.Minute + 50*time.Second, 59*time.Minute + time.Second},
		{"no deadline", 0, 0, DefaultLoadTimeout - 10*time.Second, DefaultLoadTimeout},
		{"no deadline, StartTimeout added", 0, 2 * time.Minute, DefaultLoadTimeout + 110*time.Second, DefaultLoadTimeout + 2*time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := deadlineTB{TB: t}
			if tc.end > 0 {
				tb.end = time.Now().Add(tc.end)
			}
			ctx, cancel := loadContext(tb, Options{StartTimeout: tc.start})
			defer cancel()
			end, ok := ctx.Deadline()
			if !ok {
				t.Fatal("loading is not bounded")
			}
			if left := time.Until(end); left < tc.min || left > tc.max {
				t.Errorf("loading bounded to %v from now, want %v to %v", left.Round(time.Second), tc.min, tc.max)
			}
		})
	}
	// The real test's deadline (go test's default -timeout is 10 minutes).
	if end, ok := t.Deadline(); ok && time.Until(end) > 2*time.Minute {
		ctx, cancel := loadContext(t, Options{StartTimeout: time.Minute})
		defer cancel()
		if got, _ := ctx.Deadline(); time.Until(got) < time.Minute {
			t.Errorf("loading bounded to %v from now under a test deadline %v away", time.Until(got).Round(time.Second), time.Until(end).Round(time.Second))
		}
	}
}
