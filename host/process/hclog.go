package process

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"time"

	"github.com/hashicorp/go-hclog"
)

// hclogAdapter lets go-plugin, which logs through hclog, write to the host's
// *slog.Logger. go-plugin re-emits each of the plugin's log lines through
// Named(<plugin name>), so those records carry a "logger" attribute; the
// plugin's own attributes follow as ordinary attributes. Those lines have
// passed the plugin's output budget on their way in (see output): only the
// records it accepted reach go-plugin, so the adapter needs no budget.
type hclogAdapter struct {
	l    *slog.Logger
	name string
	args []any
}

var _ hclog.Logger = (*hclogAdapter)(nil)

func newHCLogAdapter(l *slog.Logger) hclog.Logger { return &hclogAdapter{l: l} }

// levelTrace is below slog's Debug, as hclog's Trace is below its Debug.
const levelTrace = slog.LevelDebug - 4

func toSlogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return levelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

func (a *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off {
		return
	}
	lvl := toSlogLevel(level)
	ctx := context.Background()
	if !a.l.Enabled(ctx, lvl) {
		return
	}
	attrs := make([]any, 0, len(a.args)+len(args)+2)
	if a.name != "" {
		attrs = append(attrs, "logger", a.name)
	}
	attrs = appendArgs(attrs, a.args)
	attrs = appendArgs(attrs, args)
	a.l.Log(ctx, lvl, msg, attrs...)
}

// appendArgs appends hclog's key-value args, minus "plugin": go-plugin adds
// it with the runner's name, which the host's logger already carries.
func appendArgs(dst, args []any) []any {
	for i := 0; i < len(args); i += 2 {
		if i+1 == len(args) {
			return append(dst, "!BADKEY", args[i])
		}
		if k, ok := args[i].(string); ok && k == "plugin" {
			continue
		}
		dst = append(dst, args[i], args[i+1])
	}
	return dst
}

func (a *hclogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *hclogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *hclogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *hclogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *hclogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }

func (a *hclogAdapter) enabled(l hclog.Level) bool {
	return a.l.Enabled(context.Background(), toSlogLevel(l))
}

func (a *hclogAdapter) IsTrace() bool { return a.enabled(hclog.Trace) }
func (a *hclogAdapter) IsDebug() bool { return a.enabled(hclog.Debug) }
func (a *hclogAdapter) IsInfo() bool  { return a.enabled(hclog.Info) }
func (a *hclogAdapter) IsWarn() bool  { return a.enabled(hclog.Warn) }
func (a *hclogAdapter) IsError() bool { return a.enabled(hclog.Error) }

func (a *hclogAdapter) ImpliedArgs() []any { return a.args }

func (a *hclogAdapter) With(args ...any) hclog.Logger {
	c := *a
	c.args = append(append([]any(nil), a.args...), args...)
	return &c
}

func (a *hclogAdapter) Name() string { return a.name }

func (a *hclogAdapter) Named(name string) hclog.Logger {
	c := *a
	if c.name != "" {
		c.name += "." + name
	} else {
		c.name = name
	}
	return &c
}

func (a *hclogAdapter) ResetNamed(name string) hclog.Logger {
	c := *a
	c.name = name
	return &c
}

// SetLevel is ignored: the level is the slog handler's.
func (a *hclogAdapter) SetLevel(hclog.Level) {}

// GetLevel reports the lowest hclog level the slog handler takes.
func (a *hclogAdapter) GetLevel() hclog.Level {
	for _, l := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if a.enabled(l) {
			return l
		}
	}
	return hclog.Off
}

func (a *hclogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(a.StandardWriter(opts), "", 0)
}

func (a *hclogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return slog.NewLogLogger(a.l.Handler(), slog.LevelInfo).Writer()
}

// logRecord logs one hclog JSON record, a line of the plugin's stderr in
// the shape sdk/plugin's logger writes (@level, @message, @timestamp, then
// the record's attributes), to l at lvl as go-plugin would (the "logger"
// attribute first, the record's time last as "timestamp"), but with the
// attributes in the order the plugin gave them and its groups as groups,
// so that a process plugin's record reads like a wasm guest's.
//
// Why here and not in hclogAdapter.Log: go-plugin decodes each line into a
// map (parseJSON in its log_entry.go, then `for k, v := range raw`), so the
// args it hands the adapter are already in the map's random order, and a
// group is a map[string]any printed as g=map[...]. Nothing downstream can
// restore the order; the line itself still has it.
//
// It reports false, logging nothing, for a line that is not exactly one
// JSON object: the caller then leaves it to go-plugin.
func logRecord(ctx context.Context, l *slog.Logger, lvl slog.Level, logger string, line []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	var msg, ts string
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs, slog.String("logger", logger))
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		key, _ := t.(string)
		v, err := jsonValue(dec)
		if err != nil {
			return false
		}
		switch key {
		case "@message":
			msg = v.String()
		case "@timestamp":
			ts = v.String()
			if t, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", ts); err == nil {
				ts = t.Format(hclog.TimeFormat) // as go-plugin passes it on
			}
		case "@level", "plugin": // the level is lvl; "plugin" is the host logger's
		default:
			attrs = append(attrs, slog.Attr{Key: key, Value: v})
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		return false // something after the object
	}
	if ts != "" {
		attrs = append(attrs, slog.String("timestamp", ts))
	}
	l.LogAttrs(ctx, lvl, msg, attrs...)
	return true
}

// jsonValue decodes the next JSON value: an object becomes a group with its
// members in order, an array a []any, a number an int64 when it is one
// (else a float64), as slog would have held them in the plugin.
func jsonValue(dec *json.Decoder) (slog.Value, error) {
	t, err := dec.Token()
	if err != nil {
		return slog.Value{}, err
	}
	switch t := t.(type) {
	case json.Delim:
		if t == '[' {
			var out []any
			for dec.More() {
				v, err := jsonValue(dec)
				if err != nil {
					return slog.Value{}, err
				}
				out = append(out, v.Resolve().Any())
			}
			_, err := dec.Token() // ]
			return slog.AnyValue(out), err
		}
		var group []slog.Attr
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return slog.Value{}, err
			}
			key, _ := k.(string)
			v, err := jsonValue(dec)
			if err != nil {
				return slog.Value{}, err
			}
			group = append(group, slog.Attr{Key: key, Value: v})
		}
		_, err := dec.Token() // }
		return slog.GroupValue(group...), err
	case string:
		return slog.StringValue(t), nil
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return slog.Int64Value(n), nil
		}
		f, err := t.Float64()
		return slog.Float64Value(f), err
	case bool:
		return slog.BoolValue(t), nil
	}
	return slog.AnyValue(nil), nil
}
