package wasm

import (
	"os"
	"syscall"
)

// mmapMemory is linear memory reserved at its limit outside the Go heap
// (see [guestMemory]). Its pages up to the current size are readable and
// writable; the rest of the reservation has no access.
type mmapMemory struct {
	mapping []byte // the whole reservation, as syscall.Mmap returned it
	size    uint64 // bytes made accessible
}

// reserveMemory reserves maxBytes of address space, or falls back to a Go
// slice when the system refuses.
func reserveMemory(capacity, maxBytes uint64) guestMemory {
	page := uint64(os.Getpagesize())
	n := (maxBytes + page - 1) / page * page
	if n == 0 || n > uint64(^uint(0)>>1) {
		return newHeapMemory(capacity, maxBytes)
	}
	b, err := syscall.Mmap(-1, 0, int(n), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return newHeapMemory(capacity, maxBytes)
	}
	return &mmapMemory{mapping: b}
}

// Reallocate implements [experimental.LinearMemory]: it makes the pages up
// to size accessible, in place. nil (memory.grow fails) past the limit.
func (m *mmapMemory) Reallocate(size uint64) []byte {
	if m.mapping == nil || size > uint64(len(m.mapping)) {
		return nil
	}
	if size > m.size {
		from := m.size &^ uint64(os.Getpagesize()-1) // mprotect starts on a page
		if err := syscall.Mprotect(m.mapping[from:size], syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
			return nil
		}
		m.size = size
	}
	return m.mapping[:size:size]
}

// Free implements [experimental.LinearMemory]. It does nothing: wazero may
// call it while the guest still runs (see [guestMemory]); release unmaps.
func (m *mmapMemory) Free() {}

func (m *mmapMemory) release() {
	if m.mapping != nil {
		_ = syscall.Munmap(m.mapping)
		m.mapping = nil
	}
}
