//go:build wasip1

package wasm

import "unsafe"

// hostLastError is heksher_v1.last_error (docs/ABI.md §3): the reason of
// the instance's last failing host call, written to buf if it fits; its
// length, or a negative result code.
//
//go:wasmimport heksher_v1 last_error
func hostLastError(buf unsafe.Pointer, bufCap uint32) int32
