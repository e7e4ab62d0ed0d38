//go:build !wasip1

package wasm

import (
	"unsafe"

	"github.com/heksher-go/heksher/internal/abi"
)

func hostGetSettingInfo(string, unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 {
	return abi.ResultInternal
}
