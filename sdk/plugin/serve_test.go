package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

func TestServe_ByHand(t *testing.T) {
	t.Setenv(pluginv1.MagicCookieKey, "")
	err := Serve(Base{})
	if !errors.Is(err, ErrNotLaunchedByHost) || !strings.Contains(err.Error(), "started by the Heksher host") {
		t.Fatalf("Serve = %v, want ErrNotLaunchedByHost with a human message", err)
	}
}

// TestHostLogHandler checks the lines against what go-plugin's host parses:
// "@level" (trace…error), "@message", "@timestamp" in its one layout, and
// the attributes as top-level keys.
func TestHostLogHandler(t *testing.T) {
	tests := []struct {
		name      string
		level     slog.Level
		wantLevel string
	}{
		{name: "trace", level: slog.LevelDebug - 4, wantLevel: "trace"},
		{name: "debug", level: slog.LevelDebug, wantLevel: "debug"},
		{name: "info", level: slog.LevelInfo, wantLevel: "info"},
		{name: "warn", level: slog.LevelWarn, wantLevel: "warn"},
		{name: "error", level: slog.LevelError, wantLevel: "error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := slog.New(newHostLogHandler(&buf, slog.LevelDebug-4))
			l.With("a", 1).WithGroup("g").Log(t.Context(), tc.level, "hello", "b", "x")
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("%q: %v", buf.String(), err)
			}
			if got["@level"] != tc.wantLevel || got["@message"] != "hello" || got["a"] != float64(1) {
				t.Errorf("line %s", buf.String())
			}
			if g, _ := got["g"].(map[string]any); g["b"] != "x" {
				t.Errorf("group lost: %s", buf.String())
			}
			ts, _ := got["@timestamp"].(string)
			if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", ts); err != nil {
				t.Errorf("@timestamp %q: %v", ts, err)
			}
			for _, k := range []string{"time", "level", "msg"} {
				if _, ok := got[k]; ok {
					t.Errorf("line keeps slog's %q key: %s", k, buf.String())
				}
			}
		})
	}
	var buf bytes.Buffer
	slog.New(newHostLogHandler(&buf, slog.LevelInfo)).Debug("hidden")
	if buf.Len() != 0 {
		t.Errorf("debug record passed an info level: %s", buf.String())
	}
}
