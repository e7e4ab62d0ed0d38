package outbudget

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// recorder is a slog.Handler that keeps each record's message and
// attributes, and counts the bytes a text handler would have written.
type recorder struct {
	mu    sync.Mutex
	recs  []slog.Record
	bytes atomic.Int64
}

func (h *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *recorder) Handle(_ context.Context, r slog.Record) error {
	var buf bytes.Buffer
	_ = slog.NewTextHandler(&buf, nil).Handle(context.Background(), r)
	h.bytes.Add(int64(buf.Len()))
	h.mu.Lock()
	h.recs = append(h.recs, r.Clone())
	h.mu.Unlock()
	return nil
}
func (h *recorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recorder) WithGroup(string) slog.Handler      { return h }

// summaries returns the summary records' attributes, in order.
func (h *recorder) summaries() []map[string]int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]int64
	for _, r := range h.recs {
		if !strings.Contains(r.Message, "over its budget") {
			continue
		}
		m := map[string]int64{}
		r.Attrs(func(a slog.Attr) bool {
			if a.Value.Kind() == slog.KindUint64 {
				m[a.Key] = int64(a.Value.Uint64())
			} else {
				m[a.Key] = a.Value.Int64()
			}
			return true
		})
		out = append(out, m)
	}
	return out
}

func (h *recorder) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.recs {
		out = append(out, r.Message)
	}
	return out
}

func TestConfigDefaults(t *testing.T) {
	cases := []struct {
		name string
		in   Config
		want Config
	}{
		{"zero", Config{}, Config{Rate: DefaultRate, Burst: DefaultBurst, MaxLine: DefaultMaxLine, Interval: DefaultInterval}},
		{"negative", Config{Rate: -1, Burst: -1, MaxLine: -1, Interval: -1}, Config{Rate: DefaultRate, Burst: DefaultBurst, MaxLine: DefaultMaxLine, Interval: DefaultInterval}},
		{"burst raised to a line", Config{Rate: 10, Burst: 10, MaxLine: 1000, Interval: time.Second}, Config{Rate: 10, Burst: 1000 + LineOverhead, MaxLine: 1000, Interval: time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.WithDefaults(); got != tc.want {
				t.Errorf("WithDefaults() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// The bucket lets Burst through at once, then Rate per second, and drops
// and counts the rest; it never lets more through than Rate*t + Burst.
func TestBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(nil, Config{Rate: 1000, Burst: 1000, MaxLine: 100})
		defer b.Close()
		line := bytes.Repeat([]byte("x"), 200-LineOverhead) // costs 200 bytes
		accepted := 0
		for range 10 {
			if _, _, ok := b.Line(line); ok {
				accepted++
			}
		}
		if accepted != 5 {
			t.Fatalf("accepted %d lines of cost 200 from a full 1000-byte bucket, want 5", accepted)
		}
		if s := b.Stats(); s.DroppedLines != 5 || s.DroppedBytes != 5*72 {
			t.Fatalf("Stats() = %+v, want 5 lines and 360 bytes dropped", s)
		}
		time.Sleep(400 * time.Millisecond) // refills 400 bytes: two lines
		accepted = 0
		for range 10 {
			if b.Admit(72, 0) {
				accepted++
			}
		}
		if accepted != 2 {
			t.Fatalf("accepted %d lines after 400ms at 1000 B/s, want 2", accepted)
		}
		time.Sleep(time.Hour) // refills to Burst, not beyond
		accepted = 0
		for range 100 {
			if b.Admit(72, 0) {
				accepted++
			}
		}
		if accepted != 5 {
			t.Fatalf("accepted %d lines after an hour, want the burst's 5", accepted)
		}
	})
}

func TestLineCut(t *testing.T) {
	b := New(nil, Config{MaxLine: 10})
	defer b.Close()
	kept, cut, ok := b.Line([]byte("0123456789abcdef"))
	if !ok || string(kept) != "0123456789" || cut != 6 {
		t.Fatalf("Line() = %q, %d, %v; want the first 10 bytes and 6 cut", kept, cut, ok)
	}
	if s := b.Stats(); s != (Stats{DroppedBytes: 6, TruncatedLines: 1}) {
		t.Fatalf("Stats() = %+v, want 6 bytes cut from 1 line", s)
	}
	kept, cut, ok = b.Line([]byte("short"))
	if !ok || string(kept) != "short" || cut != 0 {
		t.Fatalf("Line(short) = %q, %d, %v", kept, cut, ok)
	}
}

// Many goroutines writing at once never get more through than the budget.
func TestConcurrentWritersStayInBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rate, burst = 10_000, 5_000
		b := New(nil, Config{Rate: rate, Burst: burst, MaxLine: 1000})
		defer b.Close()
		var accepted atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 200 {
					if b.Admit(72, 0) {
						accepted.Add(200)
					}
					time.Sleep(10 * time.Millisecond)
				}
			})
		}
		wg.Wait() // 2 s of fake time
		if got, limit := accepted.Load(), int64(rate*2+burst); got > limit {
			t.Fatalf("accepted %d bytes in 2s, over rate*2+burst = %d", got, limit)
		}
		if b.Stats().DroppedLines == 0 {
			t.Fatal("nothing dropped from 8 writers at 8x the rate")
		}
	})
}

// One summary per interval in which something was lost, none for a quiet
// interval, and a last one at Close.
func TestSummaries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		b := New(slog.New(rec), Config{Rate: 1, Burst: 1, MaxLine: 10, Interval: time.Second})
		b.Admit(10, 0) // the burst (138 bytes) holds one line
		for range 3 {
			b.Admit(10, 0)
		}
		b.Line([]byte("0123456789abc")) // dropped whole: 13 bytes
		time.Sleep(1500 * time.Millisecond)
		got := rec.summaries()
		if len(got) != 1 {
			t.Fatalf("%d summaries after one interval, want 1: %v", len(got), got)
		}
		if got[0]["dropped_lines"] != 4 || got[0]["dropped_bytes"] != 43 {
			t.Errorf("first summary %v, want 4 lines and 43 bytes", got[0])
		}
		time.Sleep(5 * time.Second) // quiet: no summary
		if n := len(rec.summaries()); n != 1 {
			t.Fatalf("%d summaries after quiet intervals, want still 1", n)
		}
		b.Admit(5, 0)
		b.Close()
		b.Close()
		got = rec.summaries()
		if len(got) != 2 || got[1]["dropped_lines"] != 1 || got[1]["total_dropped_bytes"] != 48 {
			t.Fatalf("summaries after Close: %v, want a second one of 1 line, 48 bytes in all", got)
		}
		b.Admit(5, 0) // counted, never logged
		time.Sleep(time.Hour)
		if n := len(rec.summaries()); n != 2 || b.Stats().DroppedLines != 6 {
			t.Fatalf("%d summaries, %d dropped after Close; want 2 and 6", n, b.Stats().DroppedLines)
		}
	})
}

func TestCloseWithoutLossLogsNothing(t *testing.T) {
	rec := &recorder{}
	b := New(slog.New(rec), Config{})
	b.Admit(10, 0)
	b.Close()
	if m := rec.messages(); len(m) != 0 {
		t.Fatalf("logged %q without any loss", m)
	}
}

// Deciding on a line allocates nothing, accepted or dropped.
func TestAdmitAllocs(t *testing.T) {
	b := New(nil, Config{Rate: 1, Burst: 1})
	defer b.Close()
	line := bytes.Repeat([]byte("x"), 20<<10)
	if n := testing.AllocsPerRun(1000, func() { b.Line(line) }); n != 0 {
		t.Errorf("Line allocates %v times per call", n)
	}
	if n := testing.AllocsPerRun(1000, func() { b.Admit(100, 0) }); n != 0 {
		t.Errorf("Admit allocates %v times per call", n)
	}
}

func BenchmarkAdmitDrop(b *testing.B) {
	bu := New(nil, Config{Rate: 1, Burst: 1})
	defer bu.Close()
	b.ReportAllocs()
	for b.Loop() {
		bu.Admit(16<<10, 0)
	}
}
