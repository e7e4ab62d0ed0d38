package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheck: -check reports every problem of a configuration in one run,
// each with the file:line it comes from, and exits 1; nothing is started.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	noexec := filepath.Join(dir, "noexec")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "exe")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	good := abs("../../examples/wasm-wat/plugin.wasm")
	cfg := `log:
  level: loud
settings:
  - name: limit
    type: integer
    configurable_features: [env]
    default: 5
  - name: colour
    type: Enum["red","blue"]
    configurable_features: [env]
    default: green
plugins:
  - name: missing
    kind: wasm
    path: nowhere.wasm
  - name: typos
    kind: wasm
    path: ` + abs("../../host/wasm/testdata/wat/misspelt.wasm") + `
  - name: sum
    kind: wasm
    path: ` + good + `
    sha256: "` + strings.Repeat("ab", 32) + `"
  - name: noexec
    kind: process
    path: ` + noexec + `
  - name: small
    kind: wasm
    path: ` + abs("../../host/wasm/testdata/wat/big_memory.wasm") + `
    memory_limit: 128KiB
  - name: dir
    kind: wasm
    path: ` + good + `
    grants:
      dir:
        host: no-such-dir
embedded:
  seed: no-seed.yaml
`
	path := filepath.Join(dir, "host.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-config", path, "-check"}, &stdout, &stderr); code != exitFailed {
		t.Fatalf("exit code %d, want %d\n%s", code, exitFailed, &stderr)
	}
	out := stderr.String()
	// In file order, each with its line and column.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := 1; i < len(lines)-1; i++ {
		if checkLine(t, lines[i-1], path) > checkLine(t, lines[i], path) {
			t.Errorf("not in file order:\n%s\n%s", lines[i-1], lines[i])
		}
	}
	for _, want := range []string{
		path + `:2:10: log.level: want debug, info, warn or error, got "loud"`,
		path + `:5:11: settings[0].type: setting "limit": "integer" is not a Heksher type; did you mean "int"? valid types: int,`,
		path + `:11:14: settings[1].default: setting "colour": the default "green" is not of type Enum["blue","red"]`,
		path + `:15:11: plugins[0].path: plugin "missing": ` + filepath.Join(dir, "nowhere.wasm") + ` does not exist`,
		path + `:18:11: plugins[1].path: plugin "typos": invalid module: unknown host function heksher_v1.get_settign (did you mean get_setting?`,
		path + `:18:11: plugins[1].path: plugin "typos": invalid module: unknown host function wasi_snapshot_preview1.fd_wirte (did you mean fd_write?`,
		path + `:18:11: plugins[1].path: plugin "typos": invalid module: missing export "heksher_init"`,
		path + `:22:13: plugins[2].sha256: plugin "sum": ` + good + ` has sha256 `,
		path + `:25:11: plugins[3].path: plugin "noexec": ` + noexec + ` is not executable (mode -rw-r--r--); chmod +x it`,
		path + `:29:19: plugins[4].memory_limit: plugin "small": the module's minimum memory is over the memory limit (128KiB)`,
		path + `:35:15: plugins[5].grants.dir.host: plugin "dir": granted directory: `,
		path + `:37:9: embedded.seed: `,
		path + `: 12 problems`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q", &stdout)
	}

	okCfg := `settings:
  - name: limit
    type: int
    configurable_features: [env]
    default: 5
plugins:
  - name: wat
    kind: wasm
    path: ` + good + `
  - name: exe
    kind: process
    path: ` + exe + `
`
	if err := os.WriteFile(path, []byte(okCfg), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"-config", path, "-check"}, &stdout, &stderr); code != exitOK || stdout.String() != path+": ok\n" {
		t.Fatalf("good config: exit code %d, stdout %q, stderr %q", code, &stdout, &stderr)
	}
}

// checkLine returns the line number that a -check line gives in path.
func checkLine(t *testing.T, l, path string) int {
	t.Helper()
	_, rest, ok := strings.Cut(l, path+":")
	n := 0
	if _, err := fmt.Sscanf(rest, "%d:", &n); !ok || err != nil {
		t.Fatalf("line without a file:line: %q", l)
	}
	return n
}
