package wasm

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heksher-go/heksher/internal/abi"
)

// TestLastErrorReasons: a Go guest's failed lookups carry the host's
// reason in their error text, and each failure is logged at DEBUG under the
// plugin's name.
func TestLastErrorReasons(t *testing.T) {
	r, rec := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "reasons", Path: guestWasm}, nil)
	defer func() { _ = p.Close(context.Background()) }()
	if err := deliver(p, changed("reasons")); err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]string{
		{"INFO reasons: bad context: wasm: bad context for setting: get_setting \"answer\": bad context for setting"},
		{"INFO reasons: not found: wasm: setting not found: get_setting \"no_such_setting\": ", "no_such_setting"},
		{"INFO reasons: malformed -5: get_setting \"answer\": the context does not decode (docs/ABI.md §5.2): it counts 9 pairs in 6 bytes"},
		{"DEBUG wasm: host function refused the guest's call", "plugin=reasons", "function=get_setting", "result=-3"},
		{"DEBUG wasm: host function refused the guest's call", "plugin=reasons", "result=-5", "it counts 9 pairs"},
	} {
		if rec.find(want...) == "" {
			t.Errorf("no log line with %q:\n%s", want, rec.dump())
		}
	}
	// The 1 MiB name: the error and the reason stay within MaxReason.
	line := rec.find("reasons: huge name: ")
	if line == "" || !strings.Contains(line, " bytes, reason ") {
		t.Fatalf("no huge-name line:\n%s", rec.dump())
	}
	var errLen, reasonLen int
	if _, err := fmtSscanf(line[strings.Index(line, "huge name: "):], "huge name: %d bytes, reason %d bytes", &errLen, &reasonLen); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	if reasonLen <= 0 || reasonLen > abi.MaxReason || errLen > abi.MaxReason+100 {
		t.Fatalf("huge name: error of %d bytes, reason of %d; want both within %d", errLen, reasonLen, abi.MaxReason)
	}
	// No log line quotes the whole name.
	if rec.find(strings.Repeat("n", 1000)) != "" {
		t.Fatal("a log line quotes the 1 MiB name")
	}
}

// TestLastErrorDeclare: the reason of a refused declaration reaches the
// init's error.
func TestLastErrorDeclare(t *testing.T) {
	r, _ := newTestRuntime(t)
	_, err := r.Load(context.Background(), PluginConfig{Name: "baddecl", Path: guestWasm, Config: []byte(`{"bad_declare":true}`)}, newSettings())
	if err == nil || !strings.Contains(err.Error(), "wasm: invalid setting declaration: declare: the setting's name is empty") {
		t.Fatalf("err = %v, want the host's reason", err)
	}
}

func TestReasonBounds(t *testing.T) {
	var r reason
	r.begin("get_setting").quote([]byte(strings.Repeat("é", 1000))).text(": " + strings.Repeat("x", 5000))
	if len(r.b) > abi.MaxReason || !strings.HasSuffix(string(r.b), "…") || !utf8Valid(r.b) {
		t.Fatalf("reason of %d bytes: %q", len(r.b), r.b)
	}
	if !strings.Contains(string(r.b), "(2000 bytes)") {
		t.Fatalf("a cut name does not say its length: %q", r.b)
	}
}

func fmtSscanf(s, format string, args ...any) (int, error) { return fmt.Sscanf(s, format, args...) }

func utf8Valid(b []byte) bool { return utf8.Valid(b) }

// TestLastErrorAssemblyScript: the AssemblyScript SDK's lookup errors carry
// the host's reason too.
func TestLastErrorAssemblyScript(t *testing.T) {
	r, rec := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "as-reasons", Path: asGuestWasm}, nil)
	defer func() { _ = p.Close(context.Background()) }()
	if err := deliver(p, changed("reasons")); err != nil {
		t.Fatal(err)
	}
	want := `INFO reasons: missing: get_setting "missing": setting "missing": pluginapi: setting not found; answer: answer: bad context for setting: get_setting "answer": bad context for setting`
	if rec.find(want, "plugin=as-reasons") == "" {
		t.Fatalf("no line %q:\n%s", want, rec.dump())
	}
	if rec.find("DEBUG wasm: host function refused the guest's call", "plugin=as-reasons", "result=-3") == "" {
		t.Fatalf("no DEBUG line naming the plugin:\n%s", rec.dump())
	}
}
