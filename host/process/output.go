package process

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/heksher-go/heksher/internal/outbudget"
)

// output is a process plugin's output budget and the doors it guards, for
// the plugin's whole life (its restarts included):
//
//   - the process's stdout: after go-plugin's handshake line, which passes
//     through, each line is logged at info level with stream=stdout;
//   - the process's stderr: an hclog JSON record (what the SDK's logger
//     writes) at a level the host logs is logged with its level and its
//     attributes in order (logRecord; go-plugin, which would log it
//     otherwise, loses their order); one that does not decode is passed on
//     to go-plugin;
//     any other line is logged as go-plugin would have chosen its level
//     ("[DEBUG] …", a panic's lines at error), at warning level otherwise,
//     with stream=stderr;
//   - what an SDK plugin writes to os.Stdout and os.Stderr, which go-plugin
//     forwards over gRPC (ClientConfig.SyncStdout and SyncStderr): logged at
//     info and warning level with stream=stdout and stream=stderr.
//
// All of them share one [outbudget.Budget]: a line it refuses is dropped
// before it is parsed or formatted, and counted.
type output struct {
	log *slog.Logger
	b   *outbudget.Budget
}

func newOutput(cfg *Config) *output {
	return &output{log: cfg.Logger, b: outbudget.New(cfg.Logger, outbudget.Config(cfg.Output))}
}

// close logs the last summary; see [outbudget.Budget.Close].
func (o *output) close() { o.b.Close() }

// syncStdout and syncStderr return the writers of one process's forwarded
// os.Stdout and os.Stderr.
func (o *output) syncStdout() io.Writer {
	return outbudget.NewLineWriter(o.b, o.log, slog.LevelInfo, "stdout")
}

func (o *output) syncStderr() io.Writer {
	return outbudget.NewLineWriter(o.b, o.log, slog.LevelWarn, "stderr")
}

// runnerFunc wraps go-plugin's RunnerFunc so that the runner's stdout and
// stderr go through the budget.
func (o *output) runnerFunc(f func(hclog.Logger, *exec.Cmd, string) (runner.Runner, error)) func(hclog.Logger, *exec.Cmd, string) (runner.Runner, error) {
	return func(l hclog.Logger, cmd *exec.Cmd, tmp string) (runner.Runner, error) {
		r, err := f(l, cmd, tmp)
		if err != nil {
			return nil, err
		}
		return &outputRunner{Runner: r, o: o}, nil
	}
}

// outputRunner is a runner whose output pipes are read through the budget.
// go-plugin asks for each pipe once, after Start.
type outputRunner struct {
	runner.Runner
	o *output
}

func (r *outputRunner) Stdout() io.ReadCloser {
	return &stdoutTap{ReadCloser: r.Runner.Stdout(), w: outbudget.NewLineWriter(r.o.b, r.o.log, slog.LevelInfo, "stdout")}
}

func (r *outputRunner) Stderr() io.ReadCloser {
	f := &stderrFilter{ReadCloser: r.Runner.Stderr(), o: r.o, logger: filepath.Base(r.Runner.Name())}
	f.lines = outbudget.NewLineFunc(r.o.b, f.line)
	return f
}

// outputChunk is the size of the reads from a plugin's pipes.
const outputChunk = 32 << 10

// stdoutTap passes the process's first stdout line (go-plugin's handshake)
// to go-plugin and logs every later line. go-plugin reads stdout after the
// handshake only to discard it, so once the handshake is through, one Read
// logs the rest of the stream until it ends.
type stdoutTap struct {
	io.ReadCloser
	w          *outbudget.LineWriter
	handshaken bool
}

func (t *stdoutTap) Read(p []byte) (int, error) {
	if !t.handshaken {
		n, err := t.ReadCloser.Read(p)
		if i := bytes.IndexByte(p[:n], '\n'); i >= 0 {
			t.handshaken = true
			_, _ = t.w.Write(p[i+1 : n])
			n = i + 1
		}
		if err != nil {
			t.w.Flush()
		}
		return n, err
	}
	buf := make([]byte, outputChunk)
	for {
		n, err := t.ReadCloser.Read(buf)
		_, _ = t.w.Write(buf[:n])
		if err != nil {
			t.w.Flush()
			return 0, err
		}
	}
}

// maxRecordLine is the longest hclog JSON line passed on to go-plugin,
// which reads stderr in 64 KiB pieces and cannot decode a longer line.
const maxRecordLine = 32 << 10

// stderrFilter splits the process's stderr into lines: it logs the hclog
// records the budget accepts itself, in order (logRecord), passes on to
// go-plugin those that do not decode, and logs the other lines itself. It is read by one goroutine (go-plugin's).
type stderrFilter struct {
	io.ReadCloser
	o       *output
	logger  string // go-plugin's name for the plugin's records: the binary's base name
	lines   *outbudget.LineWriter
	buf     []byte
	pending []byte // accepted records not yet read by go-plugin
	off     int
	err     error
	inPanic bool // a panic or fatal error was seen: later lines are errors
}

func (f *stderrFilter) Read(p []byte) (int, error) {
	for f.off == len(f.pending) {
		if f.err != nil {
			return 0, f.err
		}
		if f.buf == nil {
			f.buf = make([]byte, outputChunk)
		}
		f.pending, f.off = f.pending[:0], 0
		n, err := f.ReadCloser.Read(f.buf)
		_, _ = f.lines.Write(f.buf[:n])
		if err != nil {
			f.lines.Flush()
			f.err = err
		}
	}
	n := copy(p, f.pending[f.off:])
	f.off += n
	return n, nil
}

// line decides on one line of stderr, cut to MaxLine.
func (f *stderrFilter) line(line []byte, cut int) {
	ctx := context.Background()
	if cut == 0 && len(line) <= maxRecordLine && len(line) > 0 && line[0] == '{' {
		if lvl, ok := recordLevel(line); ok {
			if f.o.log.Enabled(ctx, lvl) && f.o.b.Admit(len(line), 0) && !logRecord(ctx, f.o.log, lvl, f.logger, line) {
				f.pending = append(append(f.pending, line...), '\n')
			}
			return
		}
	}
	lvl := f.rawLevel(line)
	if !f.o.log.Enabled(ctx, lvl) || !f.o.b.AdmitLine(line, cut) {
		return
	}
	if cut > 0 {
		f.o.log.LogAttrs(ctx, lvl, string(line), slog.String("stream", "stderr"), slog.Int(outbudget.TruncatedKey, cut))
		return
	}
	f.o.log.LogAttrs(ctx, lvl, string(line), slog.String("stream", "stderr"))
}

// rawLevel is the level of a stderr line that is not a record, as
// go-plugin would choose it: from a "[LEVEL]" prefix; error for a panic or
// a fatal error and every line after it (the stack trace); else warning.
func (f *stderrFilter) rawLevel(line []byte) slog.Level {
	for _, p := range [...]struct {
		prefix string
		level  slog.Level
	}{
		{"[TRACE]", levelTrace}, {"[DEBUG]", slog.LevelDebug}, {"[INFO]", slog.LevelInfo},
		{"[WARN]", slog.LevelWarn}, {"[ERROR]", slog.LevelError},
	} {
		if bytes.HasPrefix(line, []byte(p.prefix)) {
			return p.level
		}
	}
	if bytes.HasPrefix(line, []byte("panic: ")) || bytes.HasPrefix(line, []byte("fatal error: ")) {
		f.inPanic = true
	}
	if f.inPanic {
		return slog.LevelError
	}
	return slog.LevelWarn
}

// recordLevel finds the "@level" of an hclog JSON line without decoding it;
// ok is false when the line has none (go-plugin would log it as text).
func recordLevel(line []byte) (slog.Level, bool) {
	const key = `"@level":"`
	i := bytes.Index(line, []byte(key))
	if i < 0 {
		return 0, false
	}
	v := line[i+len(key):]
	j := bytes.IndexByte(v, '"')
	if j < 0 {
		return 0, false
	}
	switch string(v[:j]) {
	case "trace":
		return levelTrace, true
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return 0, false
}
