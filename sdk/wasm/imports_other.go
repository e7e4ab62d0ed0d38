//go:build !wasip1

package wasm

import (
	"unsafe"

	"github.com/heksher-go/heksher/internal/abi"
)

// Outside a wasm guest there is no host: these stand-ins let plugin code
// build and unit-test natively. Lookups report ErrHost, declarations and
// logs are dropped.

func hostGetSetting(string, unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 {
	return abi.ResultInternal
}
func hostSetError(string)                      {}
func hostLog(int32, string)                    {}
func hostLogEnabled(int32) int32               { return 0 }
func hostDeclare(unsafe.Pointer, uint32) int32 { return abi.ResultOK }
func hostSubscribe(uint32) int32               { return abi.ResultOK }

func hostSubscribeSetting(string) int32 { return abi.ResultOK }
func hostEventInfo(int32) int32         { return 0 }
