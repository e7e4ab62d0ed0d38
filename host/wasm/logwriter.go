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
	inst *instance // whose watchdog paces the writing goroutine
}

// Write implements [io.Writer] for wazero, on the guest's goroutine.
func (w *lineLogger) Write(b []byte) (int, error) {
	if w.inst != nil {
		w.inst.wd.pace()
	}
	return w.LineWriter.Write(b)
}

func newLineLogger(p *Plugin, level slog.Level, stream string) *lineLogger {
	return &lineLogger{LineWriter: outbudget.NewLineWriter(p.out, p.log, level, stream)}
}

// flush logs a trailing partial line.
func (w *lineLogger) flush() { w.Flush() }
