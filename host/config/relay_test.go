package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRelayErrors: every mistake in the relay section is refused with its
// file, line and field.
func TestRelayErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		line       int
		field, msg string
	}{
		{"public without token", "relay:\n  enabled: true\n  listen: 0.0.0.0:8181\n", 3, "relay.listen", "not a loopback"},
		{"all interfaces without token", "relay:\n  enabled: true\n  listen: :8181\n", 3, "relay.listen", "not a loopback"},
		{"not host:port", "relay:\n  listen: localhost\n", 2, "relay.listen", "host:port"},
		{"token twice", "relay:\n  token: a\n  token_file: b\n", 3, "relay.token_file", "not both"},
		{"bad upstream", "relay:\n  upstream: heksher:8888\n", 2, "relay.upstream", "want an http"},
		{"bad writes", "relay:\n  writes: allow\n", 2, "relay.writes", "refuse or forward"},
		{"negative interval", "relay:\n  interval: -1s\n", 2, "relay.interval", "negative"},
		{"negative max_watchers", "relay:\n  max_watchers: -1\n", 2, "relay.max_watchers", "negative"},
		{"negative max_forwards", "relay:\n  max_forwards: -5\n", 2, "relay.max_forwards", "negative"},
		{"negative answer_timeout", "relay:\n  answer_timeout: -1s\n", 2, "relay.answer_timeout", "negative"},
		{"bad max_answer", "relay:\n  max_answer: lots\n", 2, "relay.max_answer", ""},
		{"unknown field", "relay:\n  enabled: true\n  intervall: 1s\n", 3, "relay.intervall", "unknown field"},
		{"wrong type", "relay:\n  enabled: sure\n", 2, "relay.enabled", "want true or false"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "host.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p)
			ce, ok := errors.AsType[*Error](err)
			if !ok || !errors.Is(err, ErrInvalid) {
				t.Fatalf("%v: want a config *Error", err)
			}
			if ce.File != p || ce.Line != tc.line || ce.Field != tc.field || !strings.Contains(ce.Msg, tc.msg) {
				t.Errorf("got %q (line %d field %q), want line %d field %q msg containing %q",
					err, ce.Line, ce.Field, tc.line, tc.field, tc.msg)
			}
		})
	}
}

// TestRelayDefaults: a public address with a token is accepted, the
// defaults apply only when the relay is on, and they are the documented
// ones.
func TestRelayDefaults(t *testing.T) {
	p := filepath.Join(t.TempDir(), "host.yaml")
	if err := os.WriteFile(p, []byte("relay:\n  enabled: true\n  listen: 0.0.0.0:8181\n  token_file: tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Relay.TokenFile != filepath.Join(filepath.Dir(p), "tok") {
		t.Errorf("token_file %q is not resolved beside the file", c.Relay.TokenFile)
	}
	if off := (Config{}).WithDefaults().Relay; off != (Relay{}) {
		t.Errorf("relay off got defaults: %+v", off)
	}
	d := Config{Relay: Relay{Enabled: true}}.WithDefaults().Relay
	if d.Listen != DefaultRelayListen || d.Interval.D() != 5*time.Second || d.Writes != "refuse" {
		t.Errorf("defaults %+v", d)
	}
	section := referenceSections(t)["relay"]
	for key, value := range map[string]string{"listen": d.Listen, "interval": d.Interval.String(), "writes": d.Writes, "enabled": "false"} {
		row := rowOf(section, key)
		cells := strings.Split(strings.ReplaceAll(row, `\|`, "/"), "|")
		if len(cells) < 5 || !strings.Contains(cells[3], "`"+value+"`") {
			t.Errorf("docs/CONFIG.md relay.%s: row %q, applied default %q", key, row, value)
		}
	}
}
