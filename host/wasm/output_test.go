package wasm

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heksher-go/heksher/internal/outbudget"
	"github.com/heksher-go/heksher/pluginapi"
)

// byteCounter is a slog.Handler that formats every record as the host's
// text handler would and counts the bytes, without keeping them; it keeps
// the summary lines of the output budget.
type byteCounter struct {
	s     *counterState
	attrs []slog.Attr
}

type counterState struct {
	bytes     atomic.Int64
	records   atomic.Int64
	summaries atomic.Int64
	last      atomic.Pointer[string] // the latest summary line
}

func newByteCounter() *byteCounter { return &byteCounter{s: &counterState{}} }

func (h *byteCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *byteCounter) Handle(ctx context.Context, r slog.Record) error {
	var buf bytes.Buffer
	_ = slog.NewTextHandler(&buf, nil).WithAttrs(h.attrs).Handle(ctx, r)
	h.s.bytes.Add(int64(buf.Len()))
	h.s.records.Add(1)
	if strings.Contains(r.Message, "over its budget") {
		line := buf.String()
		h.s.last.Store(&line)
		h.s.summaries.Add(1)
	}
	return nil
}
func (h *byteCounter) WithAttrs(as []slog.Attr) slog.Handler {
	return &byteCounter{s: h.s, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}
func (h *byteCounter) WithGroup(string) slog.Handler { return h }

// A guest that floods the host's log for as long as its call lasts, through
// the log host function or through stdout and stderr, gets no more than its
// output budget into the host's log handler; the rest is dropped, counted in
// its status and summed up once per interval; and the plugin still closes
// within 5 s of the host asking.
//
// The stdout flood is ended by the guest itself (a setting it polls): the
// watchdog closing a module while its guest is inside a WASI write races
// with the write in wazero's file table, which the race detector reports.
func TestOutputFloodStaysInBudget(t *testing.T) {
	cases := []struct {
		name, setting string
		guestStops    bool
	}{
		{"log host function", "logflood", false},
		{"stdout and stderr", "stdoutflood", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			counter := newByteCounter()
			r, err := NewRuntime(context.Background(), RuntimeConfig{CacheDir: sharedCacheDir(t), Logger: slog.New(counter)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Close(context.Background()) })
			const interval = 500 * time.Millisecond
			budget := outbudget.Config{Interval: interval}.WithDefaults()
			settings := newSettings()
			p := mustLoad(t, r, PluginConfig{
				Name: "flood", Path: guestWasm, Deadline: time.Minute,
				Output: pluginapi.OutputBudget{Interval: interval},
			}, settings)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			floodStart := time.Now()
			before := counter.s.bytes.Load() // the bucket holds at most Burst now
			go func() { done <- p.Deliver(ctx, changed(tc.setting)) }()

			// The window: at least 3 s of flooding and two summaries.
			deadline := time.Now().Add(60 * time.Second)
			for time.Since(floodStart) < 3*time.Second || counter.s.summaries.Load() < 2 {
				if time.Now().After(deadline) {
					t.Fatalf("no two summaries within 60 s: %d summaries, %d bytes logged, status %+v",
						counter.s.summaries.Load(), counter.s.bytes.Load(), p.Status())
				}
				select {
				case err := <-done:
					t.Fatalf("the flooding call ended early: %v", err)
				case <-time.After(20 * time.Millisecond):
				}
			}
			if st := p.Status(); st.State != pluginapi.StateRunning {
				t.Errorf("state %v during the flood, want running", st.State)
			}

			// Stop as the host does at shutdown: end the call's context,
			// then Close, all within 5 s.
			stopCtx, stopCancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer stopCancel()
			if tc.guestStops {
				settings.set("flood_stop", "", "true")
			} else {
				cancel()
			}
			if err := p.Close(stopCtx); err != nil {
				t.Fatalf("Close during a flood: %v", err)
			}
			select {
			case <-done:
			case <-stopCtx.Done():
				t.Fatal("the flooding call did not end within 5 s of its context")
			}
			elapsed := time.Since(floodStart)

			got := counter.s.bytes.Load() - before
			limit := int64(elapsed.Seconds()*float64(budget.Rate)) + budget.Burst + 64<<10
			t.Logf("%s: %d bytes logged in %v (limit %d), status %+v", tc.setting, got, elapsed.Round(time.Millisecond), limit, p.Status())
			if got > limit {
				t.Errorf("the host's handler got %d bytes in %v, over the budget's %d", got, elapsed, limit)
			}
			st := p.Status()
			if st.OutputDroppedLines == 0 || st.OutputDroppedBytes < 4<<20 {
				t.Errorf("status counts %d lines and %d bytes dropped, want the flood's excess", st.OutputDroppedLines, st.OutputDroppedBytes)
			}
			n := counter.s.summaries.Load()
			if max := int64(elapsed/interval) + 2; n > max {
				t.Errorf("%d summary lines in %v, more than one per %v", n, elapsed, interval)
			}
			if last := counter.s.last.Load(); last == nil || !strings.Contains(*last, "plugin=flood") || !strings.Contains(*last, "dropped_bytes=") {
				t.Errorf("summary line %v does not name the plugin and the bytes dropped", last)
			}
		})
	}
}
