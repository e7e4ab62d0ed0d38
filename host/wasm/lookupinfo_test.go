package wasm

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero/api"

	"github.com/heksher-go/heksher/internal/abi"
)

// get_setting_info writes the lookup answer (source, origin, rule, value)
// where get_setting writes the bare value, with the same length rule: a
// buffer too small gets nothing but the length.
func TestHostGetSettingInfo(t *testing.T) {
	r, _ := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "info", Path: loopWat}, nil)
	mod := p.inst.mod
	ctx := context.WithValue(context.Background(), instKey{}, p.inst)
	c := abi.AppendContext(nil, "env", "prod")
	mod.Memory().Write(100, []byte("answer"))
	mod.Memory().Write(200, c)
	call := func(fn func(context.Context, api.Module, []uint64), bufCap uint64) int32 {
		stack := []uint64{100, 6, 200, uint64(len(c)), 400, bufCap}
		fn(ctx, mod, stack)
		return api.DecodeI32(stack[0])
	}
	if n := call(hostGetSetting, 64); n != 2 {
		t.Fatalf("get_setting answered %d, want 2 (43)", n)
	}
	n := call(hostGetSettingInfo, 0)
	if n <= 2 {
		t.Fatalf("get_setting_info's length %d", n)
	}
	if got := call(hostGetSettingInfo, uint64(n)); got != n {
		t.Fatalf("get_setting_info answered %d, then %d", n, got)
	}
	b, _ := mod.Memory().Read(400, uint32(n))
	a, err := abi.DecodeLookupAnswer(b)
	if err != nil || a.Source != abi.SourceRule || a.Origin != abi.OriginUnknown || string(a.Value) != "43" {
		t.Errorf("answer %+v, %v", a, err)
	}
	if n := call(hostGetSetting, 64); n != 2 {
		t.Errorf("get_setting after get_setting_info answered %d, want the bare value's 2", n)
	}
	if allocs := testing.AllocsPerRun(100, func() { call(hostGetSettingInfo, 64) }); allocs > 1 {
		t.Errorf("get_setting_info allocates %v times", allocs)
	}
}

// BenchmarkHostGetSettingInfo is BenchmarkHostGetSetting for
// get_setting_info: the same lookup with the answer encoded around the
// value.
func BenchmarkHostGetSettingInfo(b *testing.B) {
	r, _ := newTestRuntime(b)
	p := mustLoad(b, r, PluginConfig{Name: "bench", Path: loopWat}, nil)
	mod := p.inst.mod
	ctx := context.WithValue(context.Background(), instKey{}, p.inst)
	c := abi.AppendContext(nil, "env", "prod")
	mod.Memory().Write(100, []byte("answer"))
	mod.Memory().Write(200, c)
	stack := make([]uint64, 6)
	b.ReportAllocs()
	for b.Loop() {
		stack[0], stack[1], stack[2], stack[3], stack[4], stack[5] = 100, 6, 200, uint64(len(c)), 400, 64
		hostGetSettingInfo(ctx, mod, stack)
	}
}
