package wasm

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cFlags are the flags docs/ABI.md §9.3 gives for a C plugin built with
// Debian's clang and wasi-libc: a reactor (_initialize, no _start), the
// ABI's exports named in the source (export_name), and no
// --allow-undefined, so that a function the source does not define is a
// link error instead of an env.* import the host refuses.
var cFlags = []string{"--target=wasm32-wasi", "--sysroot=/usr", "-O2", "-mexec-model=reactor"}

// cToolchain returns clang's path, or skips the test (fails it in CI,
// where mk/c.mk installs the packages) when clang, wasi-libc or the wasm32
// compiler runtime is missing.
func cToolchain(t *testing.T) string {
	t.Helper()
	clang, err := exec.LookPath("clang")
	missing := ""
	switch {
	case err != nil:
		missing = "clang"
	case !exists("/usr/lib/wasm32-wasi/libc.a"):
		missing = "wasi-libc"
	default:
		if m, _ := filepath.Glob("/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a"); len(m) == 0 {
			missing = "libclang-rt-14-dev-wasm32"
		}
	}
	if missing != "" {
		msg := "C toolchain not installed (" + missing + "): apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return clang
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestCToolchain builds testdata/c/plugin.c with Debian's clang and
// wasi-libc and the flags of docs/ABI.md §9.3, checks that it imports
// nothing but heksher_v1, and runs it in the host: a lookup logged, and a
// failed lookup's reason (last_error) set as the handler's error.
func TestCToolchain(t *testing.T) {
	clang := cToolchain(t)
	out := filepath.Join(t.TempDir(), "plugin.wasm")
	cmd := exec.Command(clang, append(append([]string(nil), cFlags...), "-o", out, "testdata/c/plugin.c")...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd, err, b)
	}
	code, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	imports, exports, err := moduleNames(code)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range imports {
		if im[0] != "heksher_v1" {
			t.Errorf("the C plugin imports %s.%s", im[0], im[1])
		}
	}
	if exports["_start"] || !exports["_initialize"] {
		t.Errorf("the C plugin is not a reactor: exports %v", exports)
	}

	r, rec := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "c", Bytes: code}, nil)
	defer func() { _ = p.Close(ctx) }()
	if m := p.Manifest(); len(m.Declarations) != 1 || m.Declarations[0].Name != "greeting" {
		t.Fatalf("manifest = %+v", m)
	}
	if err := deliver(p, changed("motd")); err != nil {
		t.Fatal(err)
	}
	if rec.find(`INFO motd changed; greeting for env=prod: "hello, prod"`, "plugin=c") == "" {
		t.Fatalf("no log line:\n%s", rec.dump())
	}
	err = deliver(p, changed("missing"))
	var ce *CallError
	if !errors.As(err, &ce) || !strings.HasPrefix(ce.Message, `get_setting "missing": `) {
		t.Fatalf("err = %v, want the host's reason as the message", err)
	}

	// Without export_name and the reactor model, the same source built as a
	// command has _start, and with --allow-undefined a typo becomes an env
	// import: the two mistakes the flags keep out.
	typo := filepath.Join(t.TempDir(), "typo.c")
	if err := os.WriteFile(typo, []byte("int helper(void);\n__attribute__((export_name(\"heksher_abi_v1\"))) void m(void) { helper(); }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(clang, append(append([]string(nil), cFlags...), "-o", filepath.Join(t.TempDir(), "typo.wasm"), typo)...)
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "undefined symbol: helper") {
		t.Errorf("an undefined function linked: %v\n%s", err, b)
	}
}
