//go:build wasip1

package wasm

import (
	"unsafe"

	"github.com/heksher-go/heksher/internal/abi"
)

// The guest exports of ABI v1. The host calls them one at a time, never
// concurrently.

//go:wasmexport heksher_abi_v1
func exportABIv1() {}

//go:wasmexport heksher_alloc
func exportAlloc(size uint32) uint32 { return alloc(size) }

//go:wasmexport heksher_free
func exportFree(ptr uint32) { free(ptr) }

//go:wasmexport heksher_init
func exportInit(ptr unsafe.Pointer, n uint32) int32 { return handleInit(view(ptr, n)) }

//go:wasmexport heksher_on_declared
func exportOnDeclared(ptr unsafe.Pointer, n uint32) int32 {
	return handleEvent(abi.KindDeclared, view(ptr, n))
}

//go:wasmexport heksher_on_update_ok
func exportOnUpdateOK(ptr unsafe.Pointer, n uint32) int32 {
	return handleEvent(abi.KindUpdateOK, view(ptr, n))
}

//go:wasmexport heksher_on_update_error
func exportOnUpdateError(ptr unsafe.Pointer, n uint32) int32 {
	return handleEvent(abi.KindUpdateError, view(ptr, n))
}

//go:wasmexport heksher_on_setting_changed
func exportOnSettingChanged(ptr unsafe.Pointer, n uint32) int32 {
	return handleEvent(abi.KindSettingChanged, view(ptr, n))
}

//go:wasmexport heksher_on_closing
func exportOnClosing(ptr unsafe.Pointer, n uint32) int32 {
	return handleEvent(abi.KindClosing, view(ptr, n))
}

func view(ptr unsafe.Pointer, n uint32) []byte {
	if n == 0 || ptr == nil {
		return nil
	}
	return unsafe.Slice((*byte)(ptr), n)
}
