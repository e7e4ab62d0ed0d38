package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/internal/version"
)

// TestCommandExitCodes runs the built command and checks the exit codes and
// outputs documented in docs/DEVSERVER.md.
func TestCommandExitCodes(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "seed.yaml")
	if err := os.WriteFile(seed, []byte("settings:\n  - name: a\n    type: int\n    defualt: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string // regexps; empty: nothing written
	}{
		{name: "-h", args: []string{"-h"}, code: 0, stderr: `(?s)^Usage of heksher-devserver:.*-version`},
		{name: "-version", args: []string{"-version"}, code: 0, stdout: `^heksher-devserver ` + regexp.QuoteMeta(version.String()) + ` go\S+ \S+/\S+\n$`},
		{name: "unknown flag", args: []string{"-nosuchflag"}, code: 2, stderr: `(?s)^flag provided but not defined: -nosuchflag\nUsage of heksher-devserver:`},
		{name: "stray argument", args: []string{"x"}, code: 2, stderr: `^heksher-devserver: unexpected arguments: x\n$`},
		{name: "refused flag value", args: []string{"-log-level", "loud"}, code: 2, stderr: `^heksher-devserver: -log-level: `},
		{name: "bad seed file", args: []string{"-addr", "127.0.0.1:0", "-seed", seed}, code: 1, stderr: `heksher-devserver: server: invalid data: ` + regexp.QuoteMeta(seed) + `:4:5: settings\[0\]\.defualt: unknown field "defualt"`},
	}
	bin := binary(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, tc.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			_ = cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Errorf("exit code %d, want %d\nstderr: %s", code, tc.code, &stderr)
			}
			for _, w := range []struct{ name, want, got string }{{"stdout", tc.stdout, stdout.String()}, {"stderr", tc.stderr, stderr.String()}} {
				switch {
				case w.want == "" && w.got != "":
					t.Errorf("%s: want nothing, got %q", w.name, w.got)
				case w.want != "" && !regexp.MustCompile(w.want).MatchString(w.got):
					t.Errorf("%s = %q, want a match for %q", w.name, w.got, w.want)
				}
			}
			if strings.Count(stderr.String(), "flag provided but not defined") > 1 {
				t.Errorf("the flag error is printed twice: %q", stderr.String())
			}
		})
	}
}
