package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/heksher-go/heksher/internal/version"
)

// TestRunCommandLine checks the exit codes documented in docs/HOST.md for
// what the command line alone decides, and where each answer is written.
func TestRunCommandLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("update_interval: 1s\nupdate_intervall: 2s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // regexp; empty: nothing written
		stderr string // regexp; empty: nothing written
	}{
		{name: "-h", args: []string{"-h"}, code: 0, stderr: `(?s)Usage of heksher-host:.*-config.*-version`},
		{name: "-help", args: []string{"-help"}, code: 0, stderr: `Usage of heksher-host:`},
		{name: "-version", args: []string{"-version"}, code: 0, stdout: `^heksher-host ` + regexp.QuoteMeta(version.String()) + ` go\S+ \S+/\S+\n$`},
		{name: "unknown flag", args: []string{"-nosuchflag"}, code: 2, stderr: `flag provided but not defined: -nosuchflag`},
		{name: "stray argument", args: []string{"host.yaml"}, code: 2, stderr: `unexpected arguments: host.yaml`},
		{name: "missing config", args: []string{"-config", filepath.Join(dir, "none.yaml"), "-check"}, code: 1, stderr: `none\.yaml`},
		{name: "unknown config field", args: []string{"-config", bad, "-check"}, code: 1, stderr: `bad\.yaml:2:1: .*update_intervall`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, &stdout, &stderr)
			}
			for _, w := range []struct {
				name, want, got string
			}{{"stdout", tc.stdout, stdout.String()}, {"stderr", tc.stderr, stderr.String()}} {
				switch {
				case w.want == "" && w.got != "":
					t.Errorf("%s: want nothing, got %q", w.name, w.got)
				case w.want != "" && !regexp.MustCompile(w.want).MatchString(w.got):
					t.Errorf("%s = %q, want a match for %q", w.name, w.got, w.want)
				}
			}
			if strings.Contains(stderr.String(), "heksher-host: heksher-host") {
				t.Errorf("stderr repeats the command name: %q", stderr.String())
			}
		})
	}
}
