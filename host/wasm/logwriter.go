package wasm

import (
	"log/slog"

	"github.com/heksher-go/heksher/internal/outbudget"
)

// lineLogger is the guest's stdout or stderr: it logs each line through the
// plugin's logger, with a "stream" attribute, within the plugin's output
// budget (which the log host function shares). A line longer than the
// budget's MaxLine is cut, and the rest of it, up to its newline, dropped.
// Owned by one instance; wazero writes to it only from the goroutine
// calling into that instance.
type lineLogger struct {
	*outbudget.LineWriter
}

func newLineLogger(p *Plugin, level slog.Level, stream string) *lineLogger {
	return &lineLogger{LineWriter: outbudget.NewLineWriter(p.out, p.log, level, stream)}
}

// flush logs a trailing partial line.
func (w *lineLogger) flush() { w.Flush() }
