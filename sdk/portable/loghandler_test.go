package portable

import (
	"errors"
	"log/slog"
	"testing"
)

type token string

func (t token) LogValue() slog.Value { return slog.StringValue("<" + string(t) + ">") }

// The wasm guest's logger turns each record into one line of text, since
// the ABI's log call takes text only.
func TestTextHandler(t *testing.T) {
	for _, tc := range []struct {
		name string
		log  func(*slog.Logger)
		want string
	}{
		{"message only", func(l *slog.Logger) { l.Info("hello") }, "hello"},
		{"attributes in order", func(l *slog.Logger) { l.Info("m", "b", 2, "a", true) }, "m b=2 a=true"},
		{"quoting", func(l *slog.Logger) { l.Info("m", "s", "two words", "e", "", "q", `a"b`, "eq", "a=b", "nl", "a\nb") },
			`m s="two words" e="" q="a\"b" eq="a=b" nl="a\nb"`},
		{"error", func(l *slog.Logger) { l.Info("m", "err", errors.New("boom: x")) }, `m err="boom: x"`},
		{"log valuer", func(l *slog.Logger) { l.Info("m", "tok", token("x")) }, "m tok=<x>"},
		{"groups", func(l *slog.Logger) {
			l.WithGroup("g").With("a", 1).WithGroup("h").Info("m", "b", 2, slog.Group("i", "c", 3))
		}, "m g.a=1 g.h.b=2 g.h.i.c=3"},
		{"empty attribute and group", func(l *slog.Logger) { l.Info("m", slog.Attr{}, slog.Group("g"), "a", 1) }, "m a=1"},
		{"inline group", func(l *slog.Logger) { l.Info("m", slog.Group("", "a", 1)) }, "m a=1"},
		{"with attrs", func(l *slog.Logger) { l.With("a", 1).With("b", 2).Info("m", "c", 3) }, "m a=1 b=2 c=3"},
		{"empty group name", func(l *slog.Logger) { l.WithGroup("").Info("m", "a", 1) }, "m a=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			var levels []slog.Level
			h := &textHandler{
				enabled: func(l slog.Level) bool { return l >= slog.LevelInfo },
				emit: func(l slog.Level, msg string) {
					levels = append(levels, l)
					got = append(got, msg)
				},
			}
			l := slog.New(h)
			l.Debug("dropped before formatting")
			tc.log(l)
			if len(got) != 1 || got[0] != tc.want || levels[0] != slog.LevelInfo {
				t.Errorf("emitted %q at %v, want %q at INFO", got, levels, tc.want)
			}
		})
	}
}
