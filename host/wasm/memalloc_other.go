//go:build !linux

package wasm

// reserveMemory returns linear memory in a Go slice: the reservation of
// address space is implemented on Linux only.
func reserveMemory(capacity, maxBytes uint64) guestMemory {
	return newHeapMemory(capacity, maxBytes)
}
