package wasm

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestValidationSuggests: a misspelt import or export is refused with the
// valid names, closest first, and every problem of the module at once.
func TestValidationSuggests(t *testing.T) {
	r, _ := newTestRuntime(t)
	_, err := r.Load(context.Background(), PluginConfig{Name: "typos", Path: "testdata/wat/misspelt.wasm"}, newSettings())
	ve, ok := errors.AsType[*ValidationError](err)
	if !ok {
		t.Fatalf("err = %v, want a *ValidationError", err)
	}
	if len(ve.Problems) != 3 {
		t.Errorf("problems = %q, want 3 (one per misspelling)", ve.Problems)
	}
	for _, part := range []string{
		"unknown host function heksher_v1.get_settign (did you mean get_setting? valid: get_setting, ",
		"unknown host function wasi_snapshot_preview1.fd_wirte (did you mean fd_write? valid: fd_write,",
		`missing export "heksher_init" (i32, i32) -> (i32) (the module exports "heksher_inti": did you mean heksher_init?)`,
	} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q lacks %q", err, part)
		}
	}
}

func TestValidationImportHints(t *testing.T) {
	r, _ := newTestRuntime(t)
	tests := []struct {
		name, path string
		parts      []string
	}{
		{"wrong signature names the parameters", "testdata/wat/import_signature.wasm",
			[]string{"heksher_v1.log with signature (i32) -> ()", "log(level i32, ptr i32, len i32) -> ()"}},
		{"nothing close lists the valid names", "testdata/wat/unknown_import.wasm",
			[]string{"unknown host function heksher_v1.open_socket (valid: ", "get_setting", "subscribe"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Load(context.Background(), PluginConfig{Name: "hint", Path: tc.path}, newSettings())
			for _, part := range tc.parts {
				if err == nil || !strings.Contains(err.Error(), part) {
					t.Errorf("error %v lacks %q", err, part)
				}
			}
		})
	}
}

// TestCheckRunsNothing: Check validates without instantiating, so a module
// whose start section traps passes Check and fails Load; a module that
// breaks the ABI fails both the same way.
func TestCheckRunsNothing(t *testing.T) {
	r, _ := newTestRuntime(t)
	ctx := context.Background()
	if _, err := r.Check(ctx, PluginConfig{Name: "start-trap", Path: "testdata/wat/start_trap.wasm"}); err != nil {
		t.Fatalf("Check(start_trap) = %v, want nil: it must not run the start section", err)
	}
	if _, err := r.Load(ctx, PluginConfig{Name: "start-trap", Path: "testdata/wat/start_trap.wasm"}, newSettings()); !errors.Is(err, ErrInit) || !errors.Is(err, ErrTrap) {
		t.Fatalf("Load(start_trap) = %v, want ErrInit and ErrTrap", err)
	}
	_, err := r.Check(ctx, PluginConfig{Name: "typos", Path: "testdata/wat/misspelt.wasm"})
	if !errors.Is(err, ErrInvalidModule) || !strings.Contains(err.Error(), `plugin "typos"`) || !strings.Contains(err.Error(), "did you mean get_setting?") {
		t.Fatalf("Check(misspelt) = %v", err)
	}
	if _, err := r.Check(ctx, PluginConfig{Name: "sum", Path: "testdata/wat/start.wasm", SHA256: strings.Repeat("0", 64)}); !errors.Is(err, ErrChecksum) {
		t.Fatalf("Check with a wrong sha256 = %v, want ErrChecksum", err)
	}
	if _, err := r.Check(ctx, PluginConfig{Name: "small", Path: "testdata/wat/big_memory.wasm", MemoryLimitPages: 4}); !errors.Is(err, ErrInvalidModule) {
		t.Fatalf("Check under a memory limit below the module's minimum = %v, want ErrInvalidModule", err)
	}
	if _, err := r.Check(ctx, PluginConfig{Name: "big", Path: "testdata/wat/big_memory.wasm", MemoryLimitPages: 8}); err != nil {
		t.Fatalf("Check under a memory limit at the module's minimum = %v", err)
	}
}

func TestCheckWarnsOfMisspeltHandler(t *testing.T) {
	r, rec := newTestRuntime(t)
	warnings, err := r.Check(context.Background(), PluginConfig{Name: "handler", Path: "testdata/wat/misspelt_handler.wasm"})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `"heksher_on_setting_change" is not part of ABI v1 and is never called: did you mean heksher_on_setting_changed?`) {
		t.Fatalf("warnings = %q", warnings)
	}
	p := mustLoad(t, r, PluginConfig{Name: "handler", Path: "testdata/wat/misspelt_handler.wasm"}, nil)
	defer func() { _ = p.Close(context.Background()) }()
	if rec.find("WARN", "plugin=handler", "heksher_on_setting_change") == "" {
		t.Fatalf("no warning naming the plugin at load:\n%s", rec.dump())
	}
}

// TestStartSection: a start section is allowed; it runs once per instance,
// at instantiation, before _initialize and heksher_init (start.wat's init
// fails unless it ran exactly once), and again in every fresh instance.
func TestStartSection(t *testing.T) {
	r, _ := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "start", Path: "testdata/wat/start.wasm"}, nil)
	defer func() { _ = p.Close(context.Background()) }()
	if err := p.Restart(context.Background()); err != nil {
		t.Fatalf("a fresh instance: %v", err)
	}
}
