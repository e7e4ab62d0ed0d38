package wasm

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
)

// growLimitWat grows page by page to its memory limit (testdata/wat/
// grow_limit.wat): on a setting-changed event it then returns, on an
// update-ok event it keeps writing to its memory until stopped.
const growLimitWat = "testdata/wat/grow_limit.wasm"

func updateOK() event.Delivery {
	seq := seqs.Add(1)
	return event.Delivery{Seq: seq, Event: &event.UpdateOK{Header: event.Header{Seq: seq, Time: time.Now()}}}
}

// waitLog polls rec until a line contains every part, for at most d.
func waitLog(t *testing.T, rec *logRecorder, d time.Duration, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for rec.find(parts...) == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q within %v:\n%s", parts, d, rec.dump())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestMemoryGrowthDoesNotStallOthers has a plugin grow its memory page by
// page to a 512 MiB limit and then keep writing to it, while another plugin
// keeps handling events that look settings up and the host's own lookups
// keep running. The other plugin must make progress throughout, each of its
// calls returning within its deadline (1 s), and the host's lookups must
// never pause for longer than that either. Then, while a second plugin is
// still growing, closing the runtime must return within the shutdown
// promise of 5 s, whatever the growers' deadlines (an hour here).
func TestMemoryGrowthDoesNotStallOthers(t *testing.T) {
	const limit = 8192 // 512 MiB
	r, rec := newTestRuntime(t)
	settings := newSettings()
	grower := mustLoad(t, r, PluginConfig{Name: "grower1", Path: growLimitWat, MemoryLimitPages: limit,
		Deadline: time.Hour}, nil)
	grower2 := mustLoad(t, r, PluginConfig{Name: "grower2", Path: growLimitWat, MemoryLimitPages: limit,
		Deadline: time.Hour}, nil)
	bystander := mustLoad(t, r, PluginConfig{Name: "bystander", Path: guestWasm}, settings)
	promise := bystander.cfg.Deadline

	growErr := make(chan error, 2)
	go func() { growErr <- deliver(grower, updateOK()) }()
	waitLog(t, rec, time.Minute, "grow: start", "plugin=grower1")

	// The host's own lookups, as the lookup API makes them, paced by a
	// ticker; the widest gap between two of them is kept.
	stop := make(chan struct{})
	var hostLookups atomic.Int64
	var maxGap atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := settings.Lookup(context.Background(), "bystander", "answer", nil); err != nil {
				t.Errorf("host lookup: %v", err)
				return
			}
			now := time.Now()
			if gap := int64(now.Sub(last)); gap > maxGap.Load() {
				maxGap.Store(gap)
			}
			last = now
			hostLookups.Add(1)
		}
	})

	// The bystander's calls, each looking a setting up through the host,
	// until the grower has reached its limit and 20 more calls have
	// completed after that.
	var calls, afterLimit int
	var slowest time.Duration
	giveUp := time.Now().Add(2 * time.Minute)
	for afterLimit < 20 {
		if time.Now().After(giveUp) {
			t.Fatalf("the grower did not reach its limit within 2 minutes (%d bystander calls):\n%s", calls, rec.dump())
		}
		atLimit := rec.find("grow: at limit", "plugin=grower1") != ""
		start := time.Now()
		if err := deliver(bystander, changed("answer")); err != nil {
			t.Fatalf("bystander call %d while the grower grows: %v", calls, err)
		}
		slowest = max(slowest, time.Since(start))
		calls++
		if atLimit {
			afterLimit++
		}
	}
	if got := grower.Status().Detail["memory_pages"]; got != "1" {
		// The status shows the pages after init until the call returns.
		t.Logf("grower status memory_pages=%s", got)
	}

	// Close while grower2 grows and grower writes (their deadline is an
	// hour).
	go func() { growErr <- deliver(grower2, changed("grow")) }()
	waitLog(t, rec, time.Minute, "grow: start", "plugin=grower2")
	during := rec.find("grow: at limit", "plugin=grower2") == ""
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := r.Close(ctx); err != nil {
		t.Errorf("closing the runtime while plugins grow: %v", err)
	}
	closed := time.Since(start)
	close(stop)
	wg.Wait()
	for range 2 {
		select {
		case err := <-growErr:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("a grower's call returned %v after Close, want ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("a grower's call still runs 5 s after Close returned")
		}
	}

	gap := time.Duration(maxGap.Load())
	t.Logf("bystander: %d calls, slowest %v; host lookups: %d, widest gap %v; runtime Close took %v (grower2 still growing: %v)",
		calls, slowest, hostLookups.Load(), gap, closed, during)
	if slowest > promise {
		t.Errorf("a bystander call took %v while a plugin grew its memory; its deadline is %v", slowest, promise)
	}
	if gap > promise {
		t.Errorf("the host's lookups paused for %v while a plugin grew its memory (more than a call's deadline, %v)", gap, promise)
	}
	if closed > 5*time.Second {
		t.Errorf("runtime Close took %v, more than 5 s", closed)
	}
}
