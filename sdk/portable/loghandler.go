package portable

import (
	"context"
	"log/slog"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// textHandler is the slog.Handler of a wasm guest's logger: the wasm ABI's
// log call carries a level and a text, so each record becomes its message
// followed by its attributes as " key=value" (groups as dotted keys, values
// quoted when they hold spaces, quotes, '=' or unprintable characters),
// handed to emit. It keeps no state but what WithAttrs and WithGroup add,
// and is safe for concurrent use.
type textHandler struct {
	enabled func(slog.Level) bool
	emit    func(slog.Level, string)
	attrs   string // preformatted attributes from WithAttrs
	prefix  string // open groups, "a.b."
}

func (h *textHandler) Enabled(_ context.Context, l slog.Level) bool { return h.enabled(l) }

func (h *textHandler) Handle(_ context.Context, r slog.Record) error {
	b := make([]byte, 0, len(r.Message)+len(h.attrs)+16*r.NumAttrs())
	b = append(b, r.Message...)
	b = append(b, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		b = appendAttr(b, h.prefix, a)
		return true
	})
	h.emit(r.Level, string(b))
	return nil
}

func (h *textHandler) WithAttrs(as []slog.Attr) slog.Handler {
	b := []byte(h.attrs)
	for _, a := range as {
		b = appendAttr(b, h.prefix, a)
	}
	h2 := *h
	h2.attrs = string(b)
	return &h2
}

func (h *textHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix = h.prefix + name + "."
	return &h2
}

// appendAttr appends " key=value" for a, or one such pair per member of a
// group, as slog.TextHandler does: an empty attribute and an empty group
// add nothing, and a group without a key inlines its members.
func appendAttr(b []byte, prefix string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return b
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, m := range a.Value.Group() {
			b = appendAttr(b, p, m)
		}
		return b
	}
	b = append(b, ' ')
	b = appendText(b, prefix+a.Key)
	b = append(b, '=')
	var s string
	if err, ok := a.Value.Any().(error); ok && a.Value.Kind() == slog.KindAny {
		s = err.Error()
	} else {
		s = a.Value.String()
	}
	return appendText(b, s)
}

// appendText appends s, quoted if a reader could not tell where it ends.
func appendText(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r == '=' || r == '"' || r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}
