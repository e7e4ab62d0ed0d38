package plugintest

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// Log is one line the plugin (or its runtime, about the plugin) logged.
type Log struct {
	Level   slog.Level
	Message string
	// Attrs are the line's attributes but the "plugin" one, "key=value"
	// each, groups joined with dots.
	Attrs []string
}

// String formats l as "LEVEL message key=value …".
func (l Log) String() string {
	s := l.Level.String() + " " + l.Message
	if len(l.Attrs) > 0 {
		s += " " + strings.Join(l.Attrs, " ")
	}
	return s
}

// DefaultMaxLogLines is how many log lines a [Plugin] keeps when
// [Options].MaxLogLines is 0.
const DefaultMaxLogLines = 10000

// recorder keeps the first max logs of one plugin and counts the rest.
type recorder struct {
	max     int
	mu      sync.Mutex
	logs    []Log
	dropped uint64
}

func (r *recorder) add(l Log) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.logs) >= r.max {
		r.dropped++
		return
	}
	r.logs = append(r.logs, l)
}

func (r *recorder) all() ([]Log, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.logs), r.dropped
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs, r.dropped = nil, 0
}

// handler is a slog.Handler that records into a recorder.
type handler struct {
	rec    *recorder
	next   slog.Handler
	attrs  []string
	prefix string
}

func (h *handler) Enabled(context.Context, slog.Level) bool { return true }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	l := Log{Level: r.Level, Message: r.Message, Attrs: slices.Clone(h.attrs)}
	r.Attrs(func(a slog.Attr) bool {
		l.Attrs = appendAttr(l.Attrs, h.prefix, a)
		return true
	})
	h.rec.add(l)
	if h.next != nil && h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = slices.Clone(h.attrs)
	for _, a := range as {
		h2.attrs = appendAttr(h2.attrs, h.prefix, a)
	}
	if h.next != nil {
		h2.next = h.next.WithAttrs(as)
	}
	return &h2
}

func (h *handler) WithGroup(name string) slog.Handler {
	h2 := *h
	h2.prefix = h.prefix + name + "."
	if h.next != nil {
		h2.next = h.next.WithGroup(name)
	}
	return &h2
}

func appendAttr(dst []string, prefix string, a slog.Attr) []string {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return dst
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			dst = appendAttr(dst, p, g)
		}
		return dst
	}
	if prefix == "" && a.Key == "plugin" {
		return dst
	}
	return append(dst, fmt.Sprintf("%s%s=%v", prefix, a.Key, a.Value.Any()))
}
