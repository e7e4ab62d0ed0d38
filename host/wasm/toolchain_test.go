package wasm

import (
	"context"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
)

// TestGoToolchain checks what docs/ABI.md §9.2 says of Go guests built with
// `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared` (mk/wasm.mk): a
// reactor (_initialize, no _start) that imports nothing but heksher_v1 and
// WASI.
func TestGoToolchain(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer func() { _ = rt.Close(ctx) }()
	for _, path := range []string{guestWasm, changesWasm, errorsWasm} {
		code, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (the Go guests are built by `make wasm`)", err)
		}
		mod, err := rt.CompileModule(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range mod.ImportedFunctions() {
			if m, n, _ := d.Import(); m != "heksher_v1" && m != wasiModule {
				t.Errorf("%s imports %s.%s", path, m, n)
			}
		}
		exports := mod.ExportedFunctions()
		if _, ok := exports["_initialize"]; !ok {
			t.Errorf("%s exports no _initialize: not built with -buildmode=c-shared", path)
		}
		if _, ok := exports["_start"]; ok {
			t.Errorf("%s exports _start: a command, not a reactor", path)
		}
	}
}
