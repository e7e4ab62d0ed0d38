package wasm

import (
	"errors"
	"testing"
	"time"
)

// TestRunawayCallIsPaced has a guest flood its log for its whole deadline:
// a call that never returns by itself, calling the log host function in a
// loop ("logflood" in testdata/guest), or writing to stdout and stderr
// ("stdoutflood"). Paced, the call must spend a good part of its deadline
// parked (a third here; about four fifths on an idle machine), leaving the
// cores to the host; unpaced, it spends none.
func TestRunawayCallIsPaced(t *testing.T) {
	for _, setting := range []string{"logflood", "stdoutflood"} {
		t.Run(setting, func(t *testing.T) {
			r, _ := newTestRuntime(t)
			p := mustLoad(t, r, PluginConfig{Name: "flood", Path: guestWasm, Deadline: 2 * time.Second}, nil)
			inst := p.inst // the instance the flood runs in; discarded by its deadline
			start := time.Now()
			err := deliver(p, changed(setting))
			wall := time.Since(start)
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("the flood returned %v, want its deadline (ErrTimeout)", err)
			}
			paused := inst.wd.paused // deliver ran the call on this goroutine
			t.Logf("%s: a call of %v spent %v parked", setting, wall.Round(time.Millisecond), paused.Round(time.Millisecond))
			if paused < wall/3 {
				t.Errorf("a runaway call of %v spent %v parked: it is not paced", wall.Round(time.Millisecond), paused.Round(time.Millisecond))
			}
		})
	}
}
