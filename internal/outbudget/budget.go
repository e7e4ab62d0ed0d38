package outbudget

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Defaults applied to the zero fields of a [Config].
const (
	// DefaultRate is 1 MiB of log output per second.
	DefaultRate = 1 << 20
	// DefaultBurst lets a quarter of a second's worth through at once.
	DefaultBurst = 256 << 10
	// DefaultMaxLine is the longest line kept whole.
	DefaultMaxLine = 16 << 10
	// DefaultInterval is the period of the summary lines.
	DefaultInterval = 10 * time.Second
)

// LineOverhead is what each accepted line costs on top of its length: about
// what the host's handler adds to it (time, level, plugin and stream
// attributes). It bounds a flood of empty lines as it bounds long ones.
//
// A line whose bytes a handler must escape costs what the escapes add: 5
// bytes for each control byte or byte of invalid UTF-8 (a JSON handler
// writes \u0000 or \ufffd), 1 for each quote or backslash; so a flood of
// NUL bytes gets no more through than a flood of letters.
const LineOverhead = 128

// TruncatedKey is the attribute that marks a line cut to MaxLine; its value
// is the number of bytes cut.
const TruncatedKey = "truncated_bytes"

// Config sets a [Budget]. The zero value means the defaults.
type Config struct {
	// Rate is how many bytes of output per second the budget refills.
	// Zero means DefaultRate.
	Rate int64
	// Burst is the bucket's size: how much may be written at once after
	// a quiet period. Zero means DefaultBurst. A burst smaller than one
	// whole line (MaxLine + LineOverhead) is raised to it.
	Burst int64
	// MaxLine is the length past which a line is cut. Zero means
	// DefaultMaxLine.
	MaxLine int
	// Interval is the period of the summary lines. Zero means
	// DefaultInterval.
	Interval time.Duration
}

// WithDefaults returns c with its zero fields set to the defaults and its
// burst raised to hold at least one whole line. Negative values count as
// zero.
func (c Config) WithDefaults() Config {
	if c.Rate <= 0 {
		c.Rate = DefaultRate
	}
	if c.Burst <= 0 {
		c.Burst = DefaultBurst
	}
	if c.MaxLine <= 0 {
		c.MaxLine = DefaultMaxLine
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	c.Burst = max(c.Burst, int64(c.MaxLine)+LineOverhead)
	return c
}

// Stats are a budget's counters since it was made.
type Stats struct {
	// DroppedLines counts lines dropped whole.
	DroppedLines uint64
	// DroppedBytes counts the bytes lost: those of dropped lines and the
	// tails cut off long lines.
	DroppedBytes uint64
	// TruncatedLines counts lines logged cut to MaxLine.
	TruncatedLines uint64
}

// Budget is one plugin's output budget; see the package documentation. It
// is safe for concurrent use and must not be copied.
type Budget struct {
	log *slog.Logger
	cfg Config

	mu     sync.Mutex // guards tokens and last
	tokens float64
	last   time.Time

	droppedLines   atomic.Uint64
	droppedBytes   atomic.Uint64
	truncatedLines atomic.Uint64

	// armed is set while a summary is due: the first loss after a summary
	// starts the timer, which logs the next one.
	armed    atomic.Bool
	timer    *time.Timer
	sumMu    sync.Mutex // guards reported and closed, and orders summaries
	reported Stats
	closed   bool
}

// New returns a full budget that logs its summaries to log (which should
// carry the plugin's name). A nil log discards them.
func New(log *slog.Logger, cfg Config) *Budget {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.WithDefaults()
	b := &Budget{log: log, cfg: cfg, tokens: float64(cfg.Burst), last: time.Now()}
	b.timer = time.AfterFunc(time.Hour, b.summarise)
	b.timer.Stop()
	return b
}

// Config returns the budget's configuration, defaults applied.
func (b *Budget) Config() Config { return b.cfg }

// Stats returns the counters.
func (b *Budget) Stats() Stats {
	return Stats{
		DroppedLines:   b.droppedLines.Load(),
		DroppedBytes:   b.droppedBytes.Load(),
		TruncatedLines: b.truncatedLines.Load(),
	}
}

// Line decides on one whole line: it returns the part to log (line, or its
// first MaxLine bytes), the number of bytes cut off, and whether the line
// may be logged at all. A refused line is counted as dropped. A caller that
// logs a cut line should add a [TruncatedKey] attribute with cut.
func (b *Budget) Line(line []byte) (kept []byte, cut int, ok bool) {
	kept = line
	if len(kept) > b.cfg.MaxLine {
		kept, cut = kept[:b.cfg.MaxLine], len(kept)-b.cfg.MaxLine
	}
	if !b.AdmitLine(kept, cut) {
		return nil, 0, false
	}
	return kept, cut, true
}

// AdmitLine is [Budget.Admit] for the line itself: it also charges what a
// handler adds escaping its bytes (see [LineOverhead]). Those are counted
// only when the bucket could pay for the bare line, so that a refused line
// costs no scan.
func (b *Budget) AdmitLine(line []byte, cut int) bool {
	extra := 0
	if b.affords(len(line)) {
		extra = escapeCost(line)
	}
	return b.admit(len(line)+extra, len(line), cut)
}

// Admit decides on a line of n bytes (already cut to MaxLine) from which
// cut bytes were cut off: it takes the line's cost from the bucket and
// counts the cut bytes when the bucket holds it, and counts the whole line
// as dropped otherwise.
func (b *Budget) Admit(n, cut int) bool { return b.admit(n, n, cut) }

// affords reports whether the bucket holds a line of n bytes now.
func (b *Budget) affords(n int) bool {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tokens+now.Sub(b.last).Seconds()*float64(b.cfg.Rate) >= float64(n+LineOverhead)
}

// admit charges a line of n bytes (cut to MaxLine, cut more cut off) that
// costs size bytes, or counts it as dropped.
func (b *Budget) admit(size, n, cut int) bool {
	cost := float64(size + LineOverhead)
	now := time.Now()
	b.mu.Lock()
	t := b.tokens + now.Sub(b.last).Seconds()*float64(b.cfg.Rate)
	t = min(t, float64(b.cfg.Burst))
	b.last = now
	ok := t >= cost
	if ok {
		t -= cost
	}
	b.tokens = t
	b.mu.Unlock()
	if !ok {
		b.droppedLines.Add(1)
		b.droppedBytes.Add(uint64(n + cut))
		b.lost()
		return false
	}
	if cut > 0 {
		b.truncatedLines.Add(1)
		b.droppedBytes.Add(uint64(cut))
		b.lost()
	}
	return true
}

// escapeCost is what a handler adds to line escaping it.
func escapeCost(line []byte) int {
	extra, ascii := 0, true
	for _, c := range line {
		switch {
		case c < 0x20 || c == 0x7f:
			extra += 5
		case c == '"' || c == '\\':
			extra++
		case c >= 0x80:
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(line) {
		for _, c := range line {
			if c >= 0x80 {
				extra += 5
			}
		}
	}
	return extra
}

// Drop counts a line of n bytes dropped by the caller's own decision (it
// could not be read, for instance).
func (b *Budget) Drop(n int) {
	b.droppedLines.Add(1)
	b.droppedBytes.Add(uint64(n))
	b.lost()
}

// lost arms the summary timer unless a summary is already due.
func (b *Budget) lost() {
	if b.armed.Load() || !b.armed.CompareAndSwap(false, true) {
		return
	}
	b.timer.Reset(b.cfg.Interval)
}

// summarise logs what was lost since the last summary, if anything.
func (b *Budget) summarise() {
	b.sumMu.Lock()
	defer b.sumMu.Unlock()
	if b.closed {
		return
	}
	b.summariseLocked()
}

func (b *Budget) summariseLocked() {
	// Disarm first: a loss from now on arms a new timer and is counted in
	// the next summary, never lost between the two.
	b.armed.Store(false)
	now := b.Stats()
	d := Stats{
		DroppedLines:   now.DroppedLines - b.reported.DroppedLines,
		DroppedBytes:   now.DroppedBytes - b.reported.DroppedBytes,
		TruncatedLines: now.TruncatedLines - b.reported.TruncatedLines,
	}
	if d == (Stats{}) {
		return
	}
	b.reported = now
	b.log.LogAttrs(context.Background(), slog.LevelWarn, "plugin output over its budget; lines dropped",
		slog.Uint64("dropped_lines", d.DroppedLines),
		slog.Uint64("dropped_bytes", d.DroppedBytes),
		slog.Uint64("truncated_lines", d.TruncatedLines),
		slog.Uint64("total_dropped_bytes", now.DroppedBytes),
		slog.Int64("rate", b.cfg.Rate),
		slog.Int64("burst", b.cfg.Burst),
		slog.Int("max_line", b.cfg.MaxLine))
}

// Close stops the summary timer and logs a last summary of what was lost
// since the previous one. Later losses are still counted, but no longer
// logged. Idempotent.
func (b *Budget) Close() {
	b.sumMu.Lock()
	if !b.closed {
		b.summariseLocked()
		b.closed = true
		b.armed.Store(true) // never arm again
	}
	b.sumMu.Unlock()
	// A timer armed before the line above finds the budget closed.
	b.timer.Stop()
}
