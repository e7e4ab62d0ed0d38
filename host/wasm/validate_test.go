package wasm

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestLoadRejectsBadModules(t *testing.T) {
	r, _ := newTestRuntime(t)
	good := mustLoad(t, r, PluginConfig{Name: "good", Path: guestWasm}, nil)
	tests := []struct {
		name  string
		cfg   PluginConfig
		want  error
		parts []string // in the error text
	}{
		{"not wasm", PluginConfig{Bytes: []byte("#!/bin/sh\necho hi\n")}, ErrInvalidModule, []string{"not a WebAssembly binary"}},
		{"truncated", PluginConfig{Bytes: []byte("\x00asm\x01\x00\x00\x00\x01")}, ErrInvalidModule, []string{"does not compile"}},
		{"missing marker", PluginConfig{Path: "testdata/wat/missing_marker.wasm"}, ErrInvalidModule, []string{`missing export "heksher_abi_v1"`, "not a heksher plugin"}},
		{"no memory", PluginConfig{Path: "testdata/wat/no_memory.wasm"}, ErrInvalidModule, []string{`missing export "memory"`}},
		{"imported memory", PluginConfig{Path: "testdata/wat/import_memory.wasm"}, ErrInvalidModule, []string{"imports its memory"}},
		{"missing export", PluginConfig{Path: "testdata/wat/missing_export.wasm"}, ErrInvalidModule, []string{`missing export "heksher_init"`}},
		{"wrong signature", PluginConfig{Path: "testdata/wat/wrong_signature.wasm"}, ErrInvalidModule, []string{`export "heksher_init" has signature (i32) -> (i32), want (i32, i32) -> (i32)`}},
		{"unknown import", PluginConfig{Path: "testdata/wat/unknown_import.wasm"}, ErrInvalidModule, []string{"heksher_v1.open_socket", "does not provide"}},
		{"unknown module", PluginConfig{Path: "testdata/wat/unknown_module.wasm"}, ErrInvalidModule, []string{`env.connect from unknown module "env"`}},
		{"import signature", PluginConfig{Path: "testdata/wat/import_signature.wasm"}, ErrInvalidModule, []string{"heksher_v1.log with signature (i32) -> ()", "(i32, i32, i32) -> ()"}},
		{"other ABI version", PluginConfig{Path: "testdata/wat/abi_v2.wasm"}, ErrInvalidModule, []string{"ABI v2", "speaks v1"}},
		{"memory over limit", PluginConfig{Path: guestWasm, MemoryLimitPages: 16}, ErrInvalidModule, []string{"does not compile", "over limit"}},
		{"checksum", PluginConfig{Path: guestWasm, SHA256: strings.Repeat("ab", 32)}, ErrChecksum, []string{"sha256"}},
		{"init error status", PluginConfig{Path: guestWasm, Config: []byte(`{"fail_init":true}`)}, ErrGuestStatus, []string{"heksher_init returned status 1: init refused by config"}},
		{"init declares badly", PluginConfig{Path: guestWasm, Config: []byte(`{"bad_declare":true}`)}, ErrGuestStatus, []string{"heksher_init returned status 1: wasm: invalid setting declaration"}},
		{"init loops", PluginConfig{Path: guestWasm, Config: []byte(`{"loop_init":true}`), InitTimeout: time.Second}, ErrTimeout, []string{"heksher_init"}},
		{"no module", PluginConfig{}, nil, []string{"exactly one of Path and Bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Name = "bad-" + strings.ReplaceAll(tc.name, " ", "-")
			p, err := r.Load(context.Background(), tc.cfg, newSettings())
			if err == nil {
				_ = p.Close(context.Background())
				t.Fatal("loaded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.cfg.Name) {
				t.Errorf("error does not name the plugin: %v", err)
			}
			for _, part := range tc.parts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q lacks %q", err, part)
				}
			}
			var ve *ValidationError
			if errors.Is(err, ErrInvalidModule) && (!errors.As(err, &ve) || ve.Plugin != tc.cfg.Name) {
				t.Errorf("not a ValidationError naming the plugin: %#v", err)
			}
		})
	}
	// The good plugin is unaffected by all of the above.
	if err := deliver(good, changed("answer")); err != nil {
		t.Fatalf("good plugin after bad loads: %v", err)
	}
}

func TestLoadChecksumAndBytes(t *testing.T) {
	r, _ := newTestRuntime(t)
	code, err := os.ReadFile(guestWasm)
	if err != nil {
		t.Fatal(err)
	}
	p := mustLoad(t, r, PluginConfig{Name: "bytes", Bytes: code, SHA256: sha256Hex(code)}, nil)
	if err := deliver(p, changed("answer")); err != nil {
		t.Fatal(err)
	}
}
