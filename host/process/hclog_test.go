package process

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestHCLogAdapter(t *testing.T) {
	var buf syncBuffer
	base := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})).With("plugin", "p")
	l := newHCLogAdapter(base)

	tests := []struct {
		name      string
		log       func()
		wantLevel string
		wantAttrs map[string]any
		dropped   bool
	}{
		{name: "trace below debug", log: func() { l.Trace("t") }, dropped: true},
		{name: "debug", log: func() { l.Debug("d", "k", 1) }, wantLevel: "DEBUG", wantAttrs: map[string]any{"k": float64(1)}},
		{name: "named", log: func() { l.Named("a").Named("b").Info("i") }, wantLevel: "INFO", wantAttrs: map[string]any{"logger": "a.b"}},
		{name: "reset named", log: func() { l.Named("a").ResetNamed("c").Warn("w") }, wantLevel: "WARN", wantAttrs: map[string]any{"logger": "c"}},
		{name: "with", log: func() { l.With("w", "x").Error("e", "k", "v") }, wantLevel: "ERROR", wantAttrs: map[string]any{"w": "x", "k": "v"}},
		{name: "go-plugin's plugin attr is dropped", log: func() { l.Info("i", "plugin", "/path/bin") }, wantLevel: "INFO", wantAttrs: map[string]any{"plugin": "p"}},
		{name: "odd args", log: func() { l.Info("i", "lonely") }, wantLevel: "INFO", wantAttrs: map[string]any{"!BADKEY": "lonely"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(buf.String())
			tc.log()
			line := strings.TrimSpace(buf.String()[before:])
			if tc.dropped {
				if line != "" {
					t.Errorf("logged %s", line)
				}
				return
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if got["level"] != tc.wantLevel || got["plugin"] != "p" {
				t.Errorf("line %s", line)
			}
			for k, v := range tc.wantAttrs {
				if got[k] != v {
					t.Errorf("%s = %v, want %v in %s", k, got[k], v, line)
				}
			}
		})
	}
	if l.GetLevel() != hclog.Debug || l.IsTrace() || !l.IsDebug() {
		t.Errorf("level = %v, trace %v", l.GetLevel(), l.IsTrace())
	}
	l.StandardLogger(nil).Print("std")
	if !strings.Contains(buf.String(), `"msg":"std"`) {
		t.Errorf("standard logger output missing: %s", buf.String())
	}
}

// logRecord logs an hclog JSON record as go-plugin would, but with the
// attributes in the record's order and groups as groups; what is not
// exactly one JSON object is left to go-plugin.
func TestLogRecord(t *testing.T) {
	tests := []struct {
		name, line, want string // want "" means not logged
	}{
		{"order and groups", `{"@level":"info","@message":"m","z":1,"g":{"b":2.5,"a":"x y","h":{"c":null}},"a":true}`,
			`level=WARN msg=m plugin=p logger=bin z=1 g.b=2.5 g.a="x y" g.h.c=<nil> a=true`},
		{"arrays, the time last, go-plugin's plugin key dropped", `{"@timestamp":"2026-01-02T03:04:05.000000Z","l":[1,"s",{"k":2}],"plugin":"x","@message":"t"}`,
			`level=WARN msg=t plugin=p logger=bin l="[1 s [k=2]]" timestamp=2026-01-02T03:04:05.000Z`},
		{"a big integer stays exact", `{"@message":"n","n":9007199254740993}`, `level=WARN msg=n plugin=p logger=bin n=9007199254740993`},
		{"trailing comma", `{"@message":"m",}`, ""},
		{"two objects", `{"@message":"m"}{}`, ""},
		{"not an object", `["@message"]`, ""},
		{"cut short", `{"@message":"m","g":{"a":1}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf syncBuffer
			l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}})).With("plugin", "p")
			ok := logRecord(t.Context(), l, slog.LevelWarn, "bin", []byte(tc.line))
			if got := strings.TrimSpace(buf.String()); ok != (tc.want != "") || got != tc.want {
				t.Errorf("logRecord(%s) = %v, logged %q, want %q", tc.line, ok, got, tc.want)
			}
		})
	}
}
