//go:build wasip1

package wasm

import "unsafe"

// The heksher_v1 host functions; docs/ABI.md describes each. A string
// parameter is passed as (pointer, length).

//go:wasmimport heksher_v1 get_setting
func hostGetSetting(name string, ctx unsafe.Pointer, ctxLen uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport heksher_v1 set_error
func hostSetError(msg string)

//go:wasmimport heksher_v1 log
func hostLog(level int32, msg string)

//go:wasmimport heksher_v1 log_enabled
func hostLogEnabled(level int32) int32

//go:wasmimport heksher_v1 declare
func hostDeclare(p unsafe.Pointer, n uint32) int32

//go:wasmimport heksher_v1 subscribe
func hostSubscribe(kinds uint32) int32

//go:wasmimport heksher_v1 subscribe_setting
func hostSubscribeSetting(name string) int32

//go:wasmimport heksher_v1 event_info
func hostEventInfo(what int32) int32
