package outbudget

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
)

// LineWriter is an io.Writer that splits what is written to it into lines
// and logs each line its [Budget] accepts, as the message of a record at a
// fixed level with a "stream" attribute. A line longer than MaxLine keeps
// its first MaxLine bytes; the rest, up to its end, is counted as cut. An
// empty line (after a trailing '\r' is removed) is skipped. It never
// returns an error, so a writer never learns that it was over budget.
//
// A LineWriter holds at most MaxLine bytes of an unfinished line; [Flush]
// logs them. It is safe for concurrent use, though the lines of concurrent
// writers then interleave.
type LineWriter struct {
	b      *Budget
	log    *slog.Logger
	level  slog.Level
	stream string
	// Emit, when set, replaces the logging of an accepted line; it must not
	// keep line.
	emit func(line []byte, cut int)

	mu  sync.Mutex
	buf []byte
	cut int // bytes of the current line past MaxLine
}

// NewLineWriter returns a LineWriter that logs the lines b accepts to log at
// level, with the attribute stream=stream.
func NewLineWriter(b *Budget, log *slog.Logger, level slog.Level, stream string) *LineWriter {
	return &LineWriter{b: b, log: log, level: level, stream: stream}
}

// NewLineFunc returns a LineWriter that passes every line, cut to MaxLine,
// to emit with the number of bytes cut, instead of logging it: emit decides
// on the line itself (with [Budget.AdmitLine] or [Budget.Admit]). emit is called with the
// writer's lock held and must not keep line.
func NewLineFunc(b *Budget, emit func(line []byte, cut int)) *LineWriter {
	return &LineWriter{b: b, emit: emit}
}

// Write logs every complete line in p and keeps the unfinished one.
func (w *LineWriter) Write(p []byte) (int, error) {
	n := len(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	maxLine := w.b.cfg.MaxLine
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		room := maxLine - len(w.buf)
		if len(chunk) <= room {
			w.buf = append(w.buf, chunk...)
		} else {
			w.buf = append(w.buf, chunk[:room]...)
			w.cut += len(chunk) - room
		}
		if i < 0 {
			return n, nil
		}
		w.line()
		p = p[i+1:]
	}
	return n, nil
}

// Flush logs the unfinished line, if any.
func (w *LineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 || w.cut > 0 {
		w.line()
	}
}

// line ends the current line; the caller holds mu.
func (w *LineWriter) line() {
	line, cut := w.buf, w.cut
	w.buf, w.cut = w.buf[:0], 0
	if cut == 0 {
		line = bytes.TrimSuffix(line, []byte{'\r'})
	}
	if len(line) == 0 && cut == 0 {
		return
	}
	if w.emit != nil {
		w.emit(line, cut)
		return
	}
	ctx := context.Background()
	if !w.log.Enabled(ctx, w.level) {
		return
	}
	if !w.b.AdmitLine(line, cut) {
		return
	}
	if cut > 0 {
		w.log.LogAttrs(ctx, w.level, string(line), slog.String("stream", w.stream), slog.Int(TruncatedKey, cut))
		return
	}
	w.log.LogAttrs(ctx, w.level, string(line), slog.String("stream", w.stream))
}
