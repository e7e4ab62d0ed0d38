package outbudget

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLineWriter(t *testing.T) {
	cases := []struct {
		name   string
		writes []string
		flush  bool
		want   []string // message, then " cut=N" when cut
	}{
		{"lines", []string{"a\nb\n"}, false, []string{"a", "b"}},
		{"split across writes", []string{"he", "llo\nwor", "ld\n"}, false, []string{"hello", "world"}},
		{"crlf and empty lines", []string{"a\r\n\n\r\nb\n"}, false, []string{"a", "b"}},
		{"unfinished line waits for flush", []string{"a\npartial"}, false, []string{"a"}},
		{"flush", []string{"a\npartial"}, true, []string{"a", "partial"}},
		{"long line cut once", []string{"0123456789abcdef\nok\n"}, false, []string{"0123456789 cut=6", "ok"}},
		{"long line across writes", []string{"01234", "56789ab", "cdef", "\n"}, false, []string{"0123456789 cut=6"}},
		{"long unfinished line flushed", []string{strings.Repeat("z", 25)}, true, []string{"zzzzzzzzzz cut=15"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			b := New(nil, Config{MaxLine: 10})
			defer b.Close()
			w := NewLineWriter(b, slog.New(rec), slog.LevelWarn, "stderr")
			for _, s := range tc.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if tc.flush {
				w.Flush()
			}
			var got []string
			rec.mu.Lock()
			for _, r := range rec.recs {
				s := r.Message
				r.Attrs(func(a slog.Attr) bool {
					switch {
					case a.Key == TruncatedKey:
						s += " cut=" + a.Value.String()
					case a.Key != "stream" || a.Value.String() != "stderr":
						t.Errorf("unexpected attribute %v", a)
					}
					return true
				})
				if r.Level != slog.LevelWarn {
					t.Errorf("level %v", r.Level)
				}
				got = append(got, s)
			}
			rec.mu.Unlock()
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("logged %q, want %q", got, tc.want)
			}
		})
	}
}

// A flood through a LineWriter writes no more than the budget to the
// handler, and a dropping LineWriter allocates nothing.
func TestLineWriterFlood(t *testing.T) {
	rec := &recorder{}
	b := New(nil, Config{Rate: 1, Burst: 64 << 10, MaxLine: 16 << 10})
	defer b.Close()
	w := NewLineWriter(b, slog.New(rec), slog.LevelInfo, "stdout")
	chunk := append(bytes.Repeat([]byte("x"), 20<<10), '\n')
	for range 1000 {
		_, _ = w.Write(chunk)
	}
	if got := rec.bytes.Load(); got > 64<<10+1024 {
		t.Fatalf("handler got %d bytes from a 20 MB flood, budget is 64 KiB", got)
	}
	s := b.Stats()
	if s.DroppedLines == 0 || s.DroppedBytes < 19<<20 {
		t.Fatalf("Stats() = %+v after a 20 MB flood", s)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = w.Write(chunk) }); n != 0 {
		t.Errorf("a dropping Write allocates %v times", n)
	}
}

// Lines a handler must escape cost what the escapes add: a flood of NUL
// bytes, invalid UTF-8 or quotes through a JSON handler writes no more than
// the budget either.
func TestEscapedFloodStaysInBudget(t *testing.T) {
	cases := []struct {
		name string
		line []byte
	}{
		{"letters", bytes.Repeat([]byte("x"), 1000)},
		{"nul bytes", make([]byte, 1000)},
		{"invalid utf-8", bytes.Repeat([]byte{0xff}, 1000)},
		{"quotes", bytes.Repeat([]byte(`"\\`), 333)},
		{"valid utf-8", bytes.Repeat([]byte("é"), 500)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const burst = 64 << 10
			var out countWriter
			b := New(nil, Config{Rate: 1, Burst: burst, MaxLine: 16 << 10})
			defer b.Close()
			w := NewLineWriter(b, slog.New(slog.NewJSONHandler(&out, nil)), slog.LevelInfo, "stdout")
			for range 1000 {
				_, _ = w.Write(append(tc.line, '\n'))
			}
			if out.n > burst {
				t.Fatalf("the handler wrote %d bytes, over the %d-byte burst", out.n, burst)
			}
			if out.n < burst/2 {
				t.Fatalf("the handler wrote %d bytes, under half the burst: lines overcharged", out.n)
			}
		})
	}
}

type countWriter struct{ n int }

func (w *countWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

func TestLineFunc(t *testing.T) {
	b := New(nil, Config{MaxLine: 4})
	defer b.Close()
	var got []string
	w := NewLineFunc(b, func(line []byte, cut int) {
		got = append(got, string(line)+"/"+strings.Repeat("+", cut))
	})
	_, _ = w.Write([]byte("ab\nabcdef\n"))
	if strings.Join(got, " ") != "ab/ abcd/++" {
		t.Fatalf("emitted %q", got)
	}
}
