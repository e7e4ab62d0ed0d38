package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/abi"
	"github.com/heksher-go/heksher/pluginapi"
)

// FuzzHostFunctions calls every host function with arbitrary pointers,
// lengths and memory contents, as a hostile guest could. The host must never
// panic, must answer out-of-range memory with INVALID_MEMORY, and must decode
// what is in range exactly as the ABI says: get_setting's answer is compared
// with a direct lookup of the decoded name and context (or MALFORMED when
// the context does not decode), declare's with the declaration codec, and
// set_error and subscribe with what they were given.
//
// The blob is written at the context pointer for get_setting and at the
// first pointer for the others, so that the fuzzer reaches the decoders; the
// names "answer", "greeting" and "enabled" sit at 100, 120 and 140.
func FuzzHostFunctions(f *testing.F) {
	r, _ := newTestRuntime(f)
	settings := newSettings()
	p := mustLoad(f, r, PluginConfig{Name: "fuzz", Path: loopWat}, settings)
	inst := p.inst
	mod := inst.mod
	mem := mod.Memory()
	memSize := mem.Size()
	ctx := context.WithValue(context.Background(), instKey{}, inst)
	u32 := func(v uint32) []byte { return abi.AppendU32(nil, v) }

	prod := abi.AppendContext(nil, "env", "prod")
	decl := abi.AppendDeclaration(nil, "answer", "int", []string{"env"}, []byte("1"), "", nil)
	// get_setting: fn 0, name (a0, a1), context (a2, a3) = blob, buffer (a4, a5).
	f.Add(uint8(0), uint32(100), uint32(6), uint32(200), uint32(len(prod)), uint32(400), uint32(64), prod, false)
	f.Add(uint8(0), uint32(120), uint32(8), uint32(200), uint32(len(prod)), uint32(400), uint32(3), prod, false) // does not fit
	f.Add(uint8(0), uint32(140), uint32(7), uint32(0), uint32(0), uint32(0), uint32(0), []byte{}, false)         // length only
	f.Add(uint8(0), uint32(100), uint32(5), uint32(0), uint32(0), uint32(400), uint32(64), []byte{}, false)      // not found
	f.Add(uint8(0), uint32(100), uint32(6), uint32(200), uint32(19), uint32(400), uint32(64), abi.AppendContext(nil, "zone", "eu"), false)
	f.Add(uint8(0), uint32(100), uint32(6), uint32(200), uint32(8), uint32(400), uint32(64), append(u32(1000), 0, 0, 0, 0), false) // count past the end
	f.Add(uint8(0), uint32(100), uint32(6), uint32(200), uint32(len(prod)+1), uint32(400), uint32(64), append(prod[:len(prod):len(prod)], 9), false)
	f.Add(uint8(0), uint32(100), uint32(6), uint32(200), uint32(8), uint32(400), uint32(64), append(u32(1), 0xff, 0xff, 0xff, 0x7f), false) // string past the end
	f.Add(uint8(0), uint32(0xFFFFFFF0), uint32(100), uint32(0), uint32(0), uint32(0), uint32(0), []byte{}, false)
	f.Add(uint8(0), uint32(100), uint32(6), uint32(200), uint32(0xFFFFFFFF), uint32(400), uint32(64), prod, false)
	f.Add(uint8(0), uint32(100), uint32(6), uint32(0), uint32(0), uint32(memSize-10), uint32(64), []byte{}, false)
	// set_error, log, log_enabled.
	f.Add(uint8(1), uint32(65530), uint32(100), uint32(0), uint32(0), uint32(0), uint32(0), []byte("boom"), false)
	f.Add(uint8(1), uint32(1000), uint32(5000), uint32(0), uint32(0), uint32(0), uint32(0), []byte("long"), false)
	f.Add(uint8(2), uint32(3), uint32(100), uint32(0xFFFF), uint32(0), uint32(0), uint32(0), []byte("log"), false)
	f.Add(uint8(2), uint32(0xFFFFFFFF), uint32(1000), uint32(0), uint32(0), uint32(0), uint32(0), []byte("x"), false)
	f.Add(uint8(3), uint32(0x80000000), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0), []byte{}, false)
	// declare: fn 4, declaration (a0, a1) = blob.
	f.Add(uint8(4), uint32(100), uint32(len(decl)), uint32(0), uint32(0), uint32(0), uint32(0), decl, true)
	f.Add(uint8(4), uint32(100), uint32(len(decl)), uint32(0), uint32(0), uint32(0), uint32(0), decl, false)
	f.Add(uint8(4), uint32(100), uint32(len(decl)-1), uint32(0), uint32(0), uint32(0), uint32(0), decl, true)
	badDefault := abi.AppendDeclaration(nil, "x", "int", nil, []byte("{"), "", nil)
	f.Add(uint8(4), uint32(100), uint32(len(badDefault)), uint32(0), uint32(0), uint32(0), uint32(0), badDefault, true)
	badMeta := abi.AppendDeclaration(nil, "x", "int", nil, []byte("1"), "", []byte("[1]"))
	f.Add(uint8(4), uint32(100), uint32(len(badMeta)), uint32(0), uint32(0), uint32(0), uint32(0), badMeta, true)
	noName := abi.AppendDeclaration(nil, "", "int", nil, []byte("1"), "", nil)
	f.Add(uint8(4), uint32(100), uint32(len(noName)), uint32(0), uint32(0), uint32(0), uint32(0), noName, true)
	f.Add(uint8(4), uint32(0xFFFFFF00), uint32(1000), uint32(0), uint32(0), uint32(0), uint32(0), []byte{}, true)
	// subscribe.
	f.Add(uint8(5), uint32(0xFFFFFFFF), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0), []byte{}, true)
	f.Add(uint8(5), uint32(1<<4|1<<5), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0), []byte{}, true)

	f.Fuzz(func(t *testing.T, fn uint8, a0, a1, a2, a3, a4, a5 uint32, blob []byte, inInit bool) {
		mem.Write(100, []byte("answer"))
		mem.Write(120, []byte("greeting"))
		mem.Write(140, []byte("enabled"))
		at := a0
		if fn%6 == 0 {
			at = a2
		}
		if at %= memSize; len(blob) > 0 && uint64(at)+uint64(len(blob)) <= uint64(memSize) {
			mem.Write(at, blob)
		}
		inst.inInit = inInit
		defer func() { inst.inInit = false; inst.decls = nil; inst.subs, inst.subscribed = 0, false }()
		inRange := func(ptr, n uint32) bool { return n == 0 || uint64(ptr)+uint64(n) <= uint64(memSize) }
		bytesAt := func(ptr, n uint32) []byte {
			b, _ := mem.Read(ptr, n)
			return bytes.Clone(b)
		}
		stack := []uint64{uint64(a0), uint64(a1), uint64(a2), uint64(a3), uint64(a4), uint64(a5)}
		switch fn % 6 {
		case 0:
			var want int32
			var wantJSON, bufBefore []byte
			switch {
			case !inRange(a0, a1) || !inRange(a2, a3) || !inRange(a4, a5):
				want = abi.ResultInvalidMemory
			default:
				bufBefore = bytesAt(a4, a5)
				want, wantJSON = expectLookup(settings, bytesAt(a0, a1), bytesAt(a2, a3))
			}
			hostGetSetting(ctx, mod, stack)
			got := api.DecodeI32(stack[0])
			if got != want {
				t.Fatalf("get_setting = %d, want %d", got, want)
			}
			switch {
			case got >= 0 && uint32(got) <= a5:
				if v := bytesAt(a4, uint32(got)); !bytes.Equal(v, wantJSON) {
					t.Fatalf("get_setting wrote %q, want %q", v, wantJSON)
				}
			case bufBefore != nil:
				if after := bytesAt(a4, a5); !bytes.Equal(after, bufBefore) {
					t.Fatal("get_setting wrote into the buffer without answering a value that fits")
				}
			}
		case 1:
			hostSetError(ctx, mod, stack)
			want := "(set_error called with an out-of-range pointer or length)"
			if inRange(a0, a1) {
				want = string(bytesAt(a0, min(a1, maxErrorMessage)))
			}
			if !inst.errSet || string(inst.errMsg) != want {
				t.Fatalf("set_error kept %q, want %q", inst.errMsg, want)
			}
		case 2:
			hostLog(ctx, mod, stack)
		case 3:
			hostLogEnabled(ctx, mod, stack)
			if got := api.DecodeI32(stack[0]); got != 0 && got != 1 {
				t.Fatalf("log_enabled = %d", got)
			}
		case 4:
			want := abi.ResultNotAllowed
			if inInit {
				want = expectDeclare(inRange(a0, a1), bytesAt(a0, a1))
			}
			hostDeclare(ctx, mod, stack)
			got := api.DecodeI32(stack[0])
			if got != want {
				t.Fatalf("declare = %d, want %d", got, want)
			}
			if got == abi.ResultOK {
				d, _ := abi.DecodeDeclaration(bytesAt(a0, a1))
				if len(inst.decls) != 1 || inst.decls[0].Name != string(d.Name) || string(inst.decls[0].Default) != string(d.Default) {
					t.Fatalf("declare kept %+v", inst.decls)
				}
			} else if len(inst.decls) != 0 {
				t.Fatalf("refused declaration kept: %+v", inst.decls)
			}
		case 5:
			hostSubscribe(ctx, mod, stack)
			got := api.DecodeI32(stack[0])
			valid := a0&^uint32(event.All) == 0
			switch {
			case !inInit && got != abi.ResultNotAllowed:
				t.Fatalf("subscribe outside init = %d", got)
			case inInit && valid && (got != abi.ResultOK || inst.subs != event.Set(a0)):
				t.Fatalf("subscribe(%#x) = %d, kept %#x", a0, got, inst.subs)
			case inInit && !valid && got != abi.ResultMalformed:
				t.Fatalf("subscribe(%#x) = %d", a0, got)
			}
		}
		// A call without a known instance is refused, never a panic.
		none := context.Background()
		for _, h := range []api.GoModuleFunc{hostGetSetting, hostDeclare, hostSubscribe} {
			st := []uint64{0, 0, 0, 0, 0, 0}
			h(none, mod, st)
			if api.DecodeI32(st[0]) >= 0 {
				t.Fatalf("a call without an instance answered %d", api.DecodeI32(st[0]))
			}
		}
		hostSetError(none, mod, []uint64{0, 0})
		hostLog(none, mod, []uint64{0, 0, 0})
		hostLogEnabled(none, mod, []uint64{0})
	})
}

// expectLookup is what get_setting must answer for in-range name and context
// bytes: MALFORMED for a context that does not decode, else the settings'
// own answer.
func expectLookup(s pluginapi.Settings, name, ctxb []byte) (int32, []byte) {
	pairs, err := abi.DecodeContext(ctxb)
	if err != nil {
		return abi.ResultMalformed, nil
	}
	var feats []pluginapi.Feature
	it := pairs.Iter()
	for f, v, ok := it.Next(); ok; f, v, ok = it.Next() {
		feats = append(feats, pluginapi.Feature{Name: string(f), Value: string(v)})
	}
	val, err := s.Lookup(context.Background(), "fuzz", string(name), feats)
	switch {
	case errors.Is(err, pluginapi.ErrNotFound):
		return abi.ResultNotFound, nil
	case errors.Is(err, pluginapi.ErrBadContext):
		return abi.ResultBadContext, nil
	case err != nil:
		return abi.ResultInternal, nil
	}
	return int32(len(val.JSON)), val.JSON
}

// expectDeclare is what declare must answer during init.
func expectDeclare(inRange bool, b []byte) int32 {
	if !inRange {
		return abi.ResultInvalidMemory
	}
	d, err := abi.DecodeDeclaration(b)
	if err != nil || len(d.Name) == 0 || len(d.Type) == 0 || !json.Valid(d.Default) {
		return abi.ResultMalformed
	}
	if len(d.Metadata) > 0 {
		var m map[string]any
		if json.Unmarshal(d.Metadata, &m) != nil {
			return abi.ResultMalformed
		}
	}
	return abi.ResultOK
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
// allocations of 1000 lookups through each of the SDK's typed getters: none,
// but the string GetString returns.
func TestGuestLookupDoesNotAllocate(t *testing.T) {
	r, _ := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "mallocs", Path: guestWasm}, nil)
	fn := p.inst.mod.ExportedFunction("lookup_mallocs")
	ctx, cancel := p.callContext(context.Background(), p.inst, time.Minute)
	defer cancel()
	const n = 1000
	tests := []struct {
		name string
		kind uint64 // the guest's getter number
		want int64
	}{
		{"GetRaw", 0, 0},
		{"GetInt", 1, 0},
		{"GetFloat", 2, 0},
		{"GetBool", 3, 0},
		{"GetString", 4, n}, // the returned string
		{"GetInt with a ContextBuilder", 5, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stack := []uint64{tc.kind, n}
			if err := fn.CallWithStack(ctx, stack); err != nil {
				t.Fatal(err)
			}
			if got := int64(stack[0]); got != tc.want {
				t.Fatalf("%d lookups allocated %d times in the guest, want %d (-1: a lookup failed)", n, got, tc.want)
			}
		})
	}
}
