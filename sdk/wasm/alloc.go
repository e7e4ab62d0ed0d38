//go:build wasip1

package wasm

import "unsafe"

// live pins the buffers handed to the host by heksher_alloc until
// heksher_free: Go's collector does not move objects, so a pinned buffer's
// address stays valid. The host asks for one event buffer per instance and
// replaces it rarely.
var live = map[uint32][]byte{}

func alloc(size uint32) uint32 {
	if size == 0 {
		size = 1
	}
	b := make([]byte, size)
	p := uint32(uintptr(unsafe.Pointer(&b[0])))
	live[p] = b
	return p
}

func free(ptr uint32) { delete(live, ptr) }
