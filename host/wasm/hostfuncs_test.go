package wasm

import (
	"context"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/heksher-go/heksher/internal/abi"
)

// FuzzHostFunctions calls every host function with arbitrary pointers,
// lengths and memory contents, as a hostile guest could: the host must
// never panic, and must answer out-of-range memory with INVALID_MEMORY.
func FuzzHostFunctions(f *testing.F) {
	r, _ := newTestRuntime(f)
	p := mustLoad(f, r, PluginConfig{Name: "fuzz", Path: loopWat}, nil)
	inst := p.inst
	mod := inst.mod
	memSize := mod.Memory().Size()
	ctx := context.WithValue(context.Background(), instKey{}, inst)

	validCtx := abi.AppendContext(nil, "env", "prod")
	decl := abi.AppendDeclaration(nil, "answer", "int", []string{"env"}, []byte("1"), "", nil)
	f.Add(uint8(0), uint32(100), uint32(6), uint32(200), uint32(len(validCtx)), uint32(400), uint32(64), []byte("answer"), false)
	f.Add(uint8(0), uint32(0xFFFFFFF0), uint32(100), uint32(0), uint32(0), uint32(0), uint32(0), []byte{}, false)
	f.Add(uint8(0), uint32(100), uint32(6), uint32(200), uint32(0xFFFFFFFF), uint32(400), uint32(64), validCtx, false)
	f.Add(uint8(1), uint32(65530), uint32(100), uint32(0), uint32(0), uint32(0), uint32(0), []byte("boom"), false)
	f.Add(uint8(2), uint32(3), uint32(100), uint32(0xFFFF), uint32(0), uint32(0), uint32(0), []byte("log"), false)
	f.Add(uint8(4), uint32(100), uint32(len(decl)), uint32(0), uint32(0), uint32(0), uint32(0), decl, true)
	f.Add(uint8(5), uint32(0xFFFFFFFF), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0), []byte{}, true)
	f.Fuzz(func(t *testing.T, fn uint8, a0, a1, a2, a3, a4, a5 uint32, blob []byte, inInit bool) {
		// Put the blob somewhere in memory, and a copy of the context right
		// after the name, so that some calls get far.
		if len(blob) > 0 && int(a0)%int(memSize)+len(blob) <= int(memSize) {
			mod.Memory().Write(a0%memSize, blob)
		}
		if len(validCtx) < int(memSize) {
			mod.Memory().Write(200, validCtx)
		}
		inst.inInit = inInit
		defer func() { inst.inInit = false; inst.decls = nil }()
		stack := []uint64{uint64(a0), uint64(a1), uint64(a2), uint64(a3), uint64(a4), uint64(a5)}
		inRange := func(ptr, n uint32) bool { return n == 0 || uint64(ptr)+uint64(n) <= uint64(memSize) }
		switch fn % 6 {
		case 0:
			hostGetSetting(ctx, mod, stack)
			res := api.DecodeI32(stack[0])
			if res < abi.ResultInternal {
				t.Fatalf("get_setting returned %d", res)
			}
			if (!inRange(a0, a1) || !inRange(a2, a3) || !inRange(a4, a5)) && res != abi.ResultInvalidMemory {
				t.Fatalf("out-of-range arguments answered %d", res)
			}
		case 1:
			hostSetError(ctx, mod, stack)
			if !inst.errSet || len(inst.errMsg) > maxErrorMessage {
				t.Fatalf("set_error kept %d bytes", len(inst.errMsg))
			}
		case 2:
			hostLog(ctx, mod, stack)
		case 3:
			hostLogEnabled(ctx, mod, stack)
		case 4:
			hostDeclare(ctx, mod, stack)
			res := api.DecodeI32(stack[0])
			switch {
			case !inInit && res != abi.ResultNotAllowed:
				t.Fatalf("declare outside init answered %d", res)
			case inInit && !inRange(a0, a1) && res != abi.ResultInvalidMemory:
				t.Fatalf("declare with out-of-range memory answered %d", res)
			}
		case 5:
			hostSubscribe(ctx, mod, stack)
			res := api.DecodeI32(stack[0])
			if inInit && a0&^uint32(0x3E) != 0 && res != abi.ResultMalformed {
				t.Fatalf("subscribe(%#x) answered %d", a0, res)
			}
		}
		// A call without a known instance is refused, never a panic.
		hostGetSetting(context.Background(), mod, []uint64{0, 0, 0, 0, 0, 0})
	})
}

// TestLookupDoesNotAllocate checks the host side of get_setting in the
// steady state: interned strings, a reused feature slice, a copy into the
// guest's buffer.
func TestLookupDoesNotAllocate(t *testing.T) {
	r, _ := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "allocs", Path: loopWat}, newSettings())
	inst := p.inst
	mod := inst.mod
	ctx := context.WithValue(context.Background(), instKey{}, inst)
	c := abi.AppendContext(nil, "env", "prod", "user", "ann")
	mod.Memory().Write(100, []byte("answer"))
	mod.Memory().Write(200, c)
	stack := make([]uint64, 6)
	call := func() {
		stack[0], stack[1], stack[2], stack[3], stack[4], stack[5] = 100, 6, 200, uint64(len(c)), 400, 64
		hostGetSetting(ctx, mod, stack)
	}
	call()
	if got := api.DecodeI32(stack[0]); got != 2 {
		t.Fatalf("get_setting = %d", got)
	}
	if v, _ := mod.Memory().Read(400, 2); string(v) != "43" {
		t.Fatalf("value = %q", v)
	}
	if n := testing.AllocsPerRun(200, call); n != 0 {
		t.Fatalf("get_setting allocates %v times per call", n)
	}
}

// TestGuestLookupDoesNotAllocate counts, inside the guest, the heap
// allocations of 1000 typed lookups through the SDK.
func TestGuestLookupDoesNotAllocate(t *testing.T) {
	r, _ := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "mallocs", Path: guestWasm}, nil)
	fn := p.inst.mod.ExportedFunction("lookup_mallocs")
	ctx, cancel := p.callContext(context.Background(), p.inst, time.Minute)
	defer cancel()
	stack := []uint64{1000}
	if err := fn.CallWithStack(ctx, stack); err != nil {
		t.Fatal(err)
	}
	if got := int64(stack[0]); got != 0 {
		t.Fatalf("1000 lookups allocated %d times in the guest", got)
	}
}
