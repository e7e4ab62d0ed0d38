package wasm

import (
	"bytes"
	"context"
	"log/slog"
)

const maxLogLine = 8 << 10

// lineLogger is the guest's stdout or stderr: it logs each line through the
// plugin's logger. Owned by one instance; wazero writes to it only from the
// goroutine calling into that instance.
type lineLogger struct {
	log    *slog.Logger
	level  slog.Level
	stream string
	buf    []byte
}

func newLineLogger(log *slog.Logger, level slog.Level, stream string) *lineLogger {
	return &lineLogger{log: log, level: level, stream: stream}
}

func (w *lineLogger) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxLogLine - len(w.buf)
			if len(p) < room {
				w.buf = append(w.buf, p...)
				return n, nil
			}
			w.buf = append(w.buf, p[:room]...)
			w.emit()
			p = p[room:]
			continue
		}
		w.buf = append(w.buf, p[:i]...)
		w.emit()
		p = p[i+1:]
	}
	return n, nil
}

// flush logs a trailing partial line.
func (w *lineLogger) flush() {
	if len(w.buf) > 0 {
		w.emit()
	}
}

func (w *lineLogger) emit() {
	line := bytes.TrimRight(w.buf, "\r")
	if len(line) > 0 {
		w.log.LogAttrs(context.Background(), w.level, string(line), slog.String("stream", w.stream))
	}
	w.buf = w.buf[:0]
}
