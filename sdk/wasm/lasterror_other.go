//go:build !wasip1

package wasm

import "unsafe"

// Outside a wasm guest there is no host, and so no reason for a failure.
func hostLastError(unsafe.Pointer, uint32) int32 { return 0 }
