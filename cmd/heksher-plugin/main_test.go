package main_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	watExample     = "../../examples/wasm-wat/plugin.wasm"
	asExample      = "../../examples/wasm-assemblyscript/plugin.wasm"
	processExample = "../../examples/process-changes/bin/process-changes" // make process-plugins
	watTestdata    = "../../host/wasm/testdata/wat/"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

// TestMain builds the command once and removes it at the end.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// command returns the built heksher-plugin.
func command(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "heksher-plugin-test")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "heksher-plugin")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return binPath
}

// runCmd runs the command with args and returns its stdout, stderr and exit
// code; it fails the test when the command takes more than 60 s.
func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, command(t), args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("heksher-plugin %v did not end within 60 s", args)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func wantLines(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l+"\n") {
			t.Errorf("output lacks %q:\n%s", l, out)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	if _, stderr, code := runCmd(t, "-h"); code != 0 || !strings.Contains(stderr, "heksher-plugin run") {
		t.Errorf("-h: exit %d, %q", code, stderr)
	}
	if _, _, code := runCmd(t, "run", "-h"); code != 0 {
		t.Errorf("run -h: exit %d", code)
	}
	if out, _, code := runCmd(t, "-version"); code != 0 || !strings.HasPrefix(out, "heksher-plugin ") {
		t.Errorf("-version: exit %d, %q", code, out)
	}
	if _, _, code := runCmd(t); code != 2 {
		t.Errorf("no arguments: exit %d, want 2", code)
	}
	if _, _, code := runCmd(t, "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	if _, stderr, code := runCmd(t, "run", watExample, "explode"); code != 2 || !strings.Contains(stderr, "unknown event") {
		t.Errorf("unknown event: exit %d, %q", code, stderr)
	}
}

func TestRunWAT(t *testing.T) {
	out, _, code := runCmd(t, "run", "-name", "wat", "-set", "greeting[env=prod]=hello, prod", "-set", "greeting=hi",
		watExample, "changed:motd", "closing")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	wantLines(t, out,
		`  declares greeting (str, by [env], default "hello")`,
		"event changed:motd: ok",
		`  log INFO motd changed; greeting for env=prod: "hello, prod"`,
		`  lookup greeting[env=prod]: "hello, prod" (rule [env=prod])`,
		"event closing: not delivered: not subscribed",
	)
	out, _, code = runCmd(t, "run", "-set", "greeting=5", watExample, "changed:motd")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	wantLines(t, out, `  lookup greeting[env=prod]: "hello" (local_default)`, "    refused 5: htype: value does not match type: 5 is not a str")
}

func TestCallAssemblyScriptWithSettingsFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "settings.yaml")
	err := os.WriteFile(file, []byte("rate_limit:\n  default: 50\n  rules:\n    - when: {env: prod, user: ann}\n      value: 3\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	out, _, code := runCmd(t, "call", "-settings", file, "-config", `{"env":"prod"}`, "-context", "user=guest", asExample,
		"changed:rate_limit[env=prod]=9", "update-error:connection refused", "update-ok", "closing")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	wantLines(t, out,
		"  log INFO rate_limit at init is 50",
		"  lookup rate_limit[env=prod]: 50 (server_default)",
		"  log INFO setting rate_limit changed: rules 1 -> 1; rate_limit is 9",
		"  log ERROR heksher update failed (1 in a row): connection refused",
		"event update-ok: not delivered: not subscribed",
		"  log INFO goodbye",
	)
}

func TestRunProcess(t *testing.T) {
	if _, err := os.Stat(processExample); err != nil {
		t.Skip("run make process-plugins")
	}
	file := filepath.Join(t.TempDir(), "changes.log")
	out, _, code := runCmd(t, "run", "-config", `{"file":"`+file+`","languages":["fr"]}`, processExample,
		"changed:greeting[language=fr]=bonjour")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	wantLines(t, out, `  lookup greeting[language=fr]: "bonjour" (rule [language=fr])`)
	b, _ := os.ReadFile(file)
	if !strings.Contains(string(b), `greeting[language=fr]: "hello" -> "bonjour"`) {
		t.Errorf("plugin wrote %q", b)
	}
}

// A guest that hangs on an event is stopped at -deadline: the run reports
// the failure and exits 1, well before the test's bound.
func TestRunHangingGuest(t *testing.T) {
	out, _, code := runCmd(t, "run", "-deadline", "200ms", watTestdata+"loop.wasm", "changed:x", "changed:y")
	if code != 1 || strings.Count(out, ": FAILED: ") != 2 {
		t.Fatalf("exit %d, want 1 and two failed events:\n%s", code, out)
	}
}

// A guest whose init fails or that traps is reported, exit 1.
func TestRunTrappingGuest(t *testing.T) {
	out, _, code := runCmd(t, "run", "-config", `"x"`, watTestdata+"trap.wasm", "changed:x")
	if code != 1 || !strings.Contains(out, "event changed:x: FAILED: ") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestValidate(t *testing.T) {
	b, err := os.ReadFile(watExample)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	good := hex.EncodeToString(sum[:])
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("#!/bin/sh\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-start", watExample}, 0, "ok: wasm module, valid against ABI v1, initialised; subscribed to [setting_changed]; declares 1 setting(s)"},
		{[]string{watExample}, 0, "ok: wasm module, valid against ABI v1 (not initialised: add -start"},
		// validate runs nothing of the module; -start runs its start section and init.
		{[]string{watTestdata + "start_trap.wasm"}, 0, "ok: wasm module, valid against ABI v1 (not initialised"},
		{[]string{"-start", watTestdata + "start_trap.wasm"}, 1, "INVALID: it does not initialise: "},
		// Every problem, each with the valid names closest first.
		{[]string{watTestdata + "misspelt.wasm"}, 1, "INVALID: unknown host function heksher_v1.get_settign (did you mean get_setting?"},
		{[]string{watTestdata + "misspelt.wasm"}, 1, "INVALID: unknown host function wasi_snapshot_preview1.fd_wirte (did you mean fd_write?"},
		{[]string{watTestdata + "misspelt.wasm"}, 1, `INVALID: missing export "heksher_init"`},
		{[]string{watTestdata + "misspelt_handler.wasm"}, 0, "warning: export \"heksher_on_setting_change\" is not part of ABI v1 and is never called: did you mean heksher_on_setting_changed?"},
		{[]string{"-sha256", good, watExample}, 0, "checksum matches"},
		{[]string{"-sha256", strings.Repeat("0", 64), watExample}, 1, "INVALID: SHA-256 is " + good},
		{[]string{asExample}, 0, "ok: wasm module"},
		{[]string{watTestdata + "unknown_import.wasm"}, 1, "INVALID: "},
		{[]string{watTestdata + "missing_export.wasm"}, 1, "heksher_init"},
		{[]string{watTestdata + "abi_v2.wasm"}, 1, "INVALID: "},
		{[]string{filepath.Join(dir, "missing")}, 1, "no such file"},
		{[]string{dir}, 1, "not a regular file"},
		{[]string{text}, 1, "must be executable"},
		{[]string{"-kind", "wasm", text}, 1, "INVALID: "},
	} {
		out, _, code := runCmd(t, append([]string{"validate"}, c.args...)...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("validate %v: exit %d, %q; want exit %d and %q", c.args, code, out, c.code, c.want)
		}
	}
	if _, err := os.Stat(processExample); err == nil {
		out, _, code := runCmd(t, "validate", processExample)
		if code != 0 || !strings.Contains(out, "ok: process plugin (executable; not started") {
			t.Errorf("validate process: exit %d, %q", code, out)
		}
		out, _, code = runCmd(t, "validate", "-start", "-config", `{"file":"/dev/null"}`, processExample)
		if code != 0 || !strings.Contains(out, "ok: process plugin, started and initialised") {
			t.Errorf("validate -start process: exit %d, %q", code, out)
		}
		out, _, code = runCmd(t, "validate", "-start", processExample)
		if code != 1 || !strings.Contains(out, "INVALID: it does not initialise: ") {
			t.Errorf("validate -start process without config: exit %d, %q", code, out)
		}
	}
}

// A binary that is not a plugin (it prints something else than the
// handshake and exits) is refused by run and by validate -start, naming it.
func TestNotAPluginBinary(t *testing.T) {
	const garbage = "../../host/process/testdata/bin/garbage"
	if _, err := os.Stat(garbage); err != nil {
		t.Skip("run make process-plugins")
	}
	out, _, code := runCmd(t, "run", garbage, "closing")
	if code != 1 || !strings.Contains(out, "load "+garbage+": FAILED: ") || !strings.Contains(out, `"garbage"`) {
		t.Errorf("run: exit %d:\n%s", code, out)
	}
	out, _, code = runCmd(t, "validate", "-start", garbage)
	if code != 1 || !strings.Contains(out, "INVALID: it does not initialise: ") {
		t.Errorf("validate -start: exit %d:\n%s", code, out)
	}
}

// initial:NAME sends a start-up change and changed:NAME a real one;
// closing:REASON sends the closing event with its reason, as a reload that
// replaces or removes the plugin does. The process test plugin records what
// it got.
func TestRunInitialAndClosingReason(t *testing.T) {
	testplugin, _ := filepath.Abs("../../host/process/testdata/bin/testplugin")
	if _, err := os.Stat(testplugin); err != nil {
		t.Fatalf("%s is missing: run `make process-plugins`: %v", testplugin, err)
	}
	rec := filepath.Join(t.TempDir(), "record.jsonl")
	cfg := `{"record":"` + rec + `"}`
	out, stderr, code := runCmd(t, "run", "-config", cfg, testplugin, "initial:greeting=hi", "changed:greeting=hello", "closing:removed")
	if code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", code, out, stderr)
	}
	b, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r struct {
			What, Setting, Reason string
			Initial               bool
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if r.What == "setting_changed" || r.What == "closing" {
			got = append(got, fmt.Sprintf("%s %s initial=%v %s", r.What, r.Setting, r.Initial, r.Reason))
		}
	}
	want := []string{"setting_changed greeting initial=true ", "setting_changed greeting initial=false ", "closing  initial=false removed"}
	if !slices.Equal(got, want) {
		t.Errorf("the plugin got %q, want %q", got, want)
	}
	if _, stderr, code := runCmd(t, "run", testplugin, "closing:bored"); code != 2 || !strings.Contains(stderr, "unknown closing reason") {
		t.Errorf("closing:bored: exit %d, %q", code, stderr)
	}
}
