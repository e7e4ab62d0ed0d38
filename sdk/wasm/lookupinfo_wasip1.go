//go:build wasip1

package wasm

import "unsafe"

//go:wasmimport heksher_v1 get_setting_info
func hostGetSettingInfo(name string, ctx unsafe.Pointer, ctxLen uint32, buf unsafe.Pointer, bufCap uint32) int32
