package wasm

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/heksher-go/heksher/internal/abi"
)

// BenchmarkHostGetSettingRefused compares, in one run, get_setting's
// answer with a value ("ok") and its refusals, each of which records its
// reason for last_error ("not found", "bad context" from the settings,
// "malformed" context from the host's decoder), and last_error reading the
// reason back. The host logs at INFO here, so the DEBUG line of a refusal
// costs only its level check.
func BenchmarkHostGetSettingRefused(b *testing.B) {
	r, err := NewRuntime(context.Background(), RuntimeConfig{CacheDir: sharedCacheDir(b),
		Logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = r.Close(context.Background()) }()
	p := mustLoad(b, r, PluginConfig{Name: "bench", Path: loopWat}, nil)
	mod := p.inst.mod
	ctx := context.WithValue(context.Background(), instKey{}, p.inst)
	prod := abi.AppendContext(nil, "env", "prod")
	colour := abi.AppendContext(nil, "colour", "red")
	garbage := []byte{9, 0, 0, 0, 1, 2}
	mem := mod.Memory()
	mem.Write(100, []byte("answer"))
	mem.Write(120, []byte("missing"))
	mem.Write(200, prod)
	mem.Write(300, colour)
	mem.Write(400, garbage)
	cases := []struct {
		name            string
		nameAt, nameLen uint64
		ctxAt, ctxLen   uint64
		want            int32
	}{
		{"ok", 100, 6, 200, uint64(len(prod)), 2},
		{"not found", 120, 7, 200, uint64(len(prod)), abi.ResultNotFound},
		{"bad context", 100, 6, 300, uint64(len(colour)), abi.ResultBadContext},
		{"malformed", 100, 6, 400, uint64(len(garbage)), abi.ResultMalformed},
	}
	stack := make([]uint64, 6)
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				stack[0], stack[1], stack[2], stack[3], stack[4], stack[5] = tc.nameAt, tc.nameLen, tc.ctxAt, tc.ctxLen, 1024, 64
				hostGetSetting(ctx, mod, stack)
			}
			if got := int32(stack[0]); got != tc.want {
				b.Fatalf("get_setting = %d, want %d", got, tc.want)
			}
		})
	}
	b.Run("last_error", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			stack[0], stack[1] = 2048, abi.MaxReason
			hostLastError(ctx, mod, stack)
		}
		if int32(stack[0]) <= 0 {
			b.Fatalf("last_error = %d", int32(stack[0]))
		}
	})
}
