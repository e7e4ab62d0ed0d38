package wasm

import (
	"errors"
	"os"
	"testing"
)

// TestGoToolchain checks what docs/ABI.md §9.2 says of Go guests built with
// `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared` (mk/wasm.mk): a
// reactor (_initialize, no _start) that imports nothing but heksher_v1 and
// WASI.
func TestGoToolchain(t *testing.T) {
	for _, path := range []string{guestWasm, changesWasm, errorsWasm} {
		code, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (the Go guests are built by `make wasm`)", err)
		}
		imports, exports, err := moduleNames(code)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		found := false
		for _, im := range imports {
			if im[0] != "heksher_v1" && im[0] != wasiModule {
				t.Errorf("%s imports %s.%s", path, im[0], im[1])
			}
			found = found || im == [2]string{"heksher_v1", "log"}
		}
		if !found {
			t.Errorf("%s: no heksher_v1.log among its %d imports", path, len(imports))
		}
		if !exports["_initialize"] {
			t.Errorf("%s exports no _initialize: not built with -buildmode=c-shared", path)
		}
		if exports["_start"] {
			t.Errorf("%s exports _start: a command, not a reactor", path)
		}
	}
}

// moduleNames reads a module's imports (module, name) and export names
// from its binary, without compiling it (a Go guest takes seconds to
// compile under the race detector).
func moduleNames(code []byte) (imports [][2]string, exports map[string]bool, err error) {
	errBad := errors.New("malformed module")
	if len(code) < 8 || string(code[:4]) != "\x00asm" {
		return nil, nil, errBad
	}
	p := code[8:]
	u32 := func() uint32 {
		var v uint32
		for shift := 0; len(p) > 0 && shift < 35; shift += 7 {
			b := p[0]
			p = p[1:]
			v |= uint32(b&0x7f) << shift
			if b&0x80 == 0 {
				return v
			}
		}
		err = errBad
		return 0
	}
	name := func() string {
		n := u32()
		if int(n) > len(p) {
			err = errBad
			return ""
		}
		s := string(p[:n])
		p = p[n:]
		return s
	}
	byte1 := func() byte {
		if len(p) == 0 {
			err = errBad
			return 0
		}
		b := p[0]
		p = p[1:]
		return b
	}
	limits := func() {
		if byte1()&1 != 0 {
			u32()
		}
		u32()
	}
	exports = map[string]bool{}
	for len(p) > 0 && err == nil {
		id := byte1()
		size := u32()
		if err != nil || int(size) > len(p) {
			return nil, nil, errBad
		}
		body, rest := p[:size], p[size:]
		switch id {
		case 2: // imports
			p = body
			for n := u32(); n > 0 && err == nil; n-- {
				mod, field := name(), name()
				switch byte1() {
				case 0:
					u32()
				case 1:
					byte1()
					limits()
				case 2:
					limits()
				case 3:
					byte1()
					byte1()
				}
				imports = append(imports, [2]string{mod, field})
			}
		case 7: // exports
			p = body
			for n := u32(); n > 0 && err == nil; n-- {
				exports[name()] = true
				byte1()
				u32()
			}
		}
		p = rest
	}
	return imports, exports, err
}
