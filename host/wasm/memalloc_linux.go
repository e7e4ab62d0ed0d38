package wasm

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page with 4 KiB base pages
// (amd64, and arm64 as Linux distributions configure it).
const hugePage = 2 << 20

// releaseChunk is how much of a reservation one munmap returns.
//
// Why not all at once: munmap holds the process's mmap lock for writing
// while it frees the pages. For 512 MiB of 4 KiB pages that took 90–135 ms
// on a 2-vCPU VM, and the host's other goroutines made no progress
// meanwhile (runtime/trace: no event from any of them; lookup API requests
// sent then took ~50 ms). A few MiB at a time, each munmap is short and the
// whole takes 20–30 ms (BENCHMARKS.md, "Lookup API p99 beside a faulty
// plugin").
const releaseChunk = 4 << 20

// mmapMemory is linear memory reserved at its limit outside the Go heap
// (see [guestMemory]). Its pages up to the current size (rounded up to
// 2 MiB) are readable and writable; the rest of the reservation has no
// access.
//
// The memory starts on a 2 MiB boundary, is advised for transparent huge
// pages (MADV_HUGEPAGE) and is made accessible 2 MiB at a time, so that
// the kernel can back it with 2 MiB pages. Why: page faults are what
// growth costs. Each zeroes its page in the guest's thread and, on a VM,
// also exits to the hypervisor; a guest touching every 4 KiB up to 512 MiB
// took 131,072 of them, about 2 s of a core at ~15 µs each, while the
// host's own threads waited for that core. With 2 MiB pages it takes 256,
// and 35–190 ms (BENCHMARKS.md). Where transparent huge pages are off
// (transparent_hugepage=never) the advice changes nothing and the memory
// is made of 4 KiB pages, as before. A guest's resident memory is then
// counted in 2 MiB steps: up to 2 MiB more than it touched. The bytes
// between the guest's size and the next 2 MiB boundary are accessible to
// the host but not to the guest, whose every access wazero checks against
// the size.
type mmapMemory struct {
	raw    []byte // the whole reservation, as mmap returned it
	mem    []byte // its part used as linear memory, from a 2 MiB boundary
	access uint64 // bytes of mem made accessible: the size rounded up to 2 MiB
}

// reserveMemory reserves maxBytes of address space, or falls back to a Go
// slice when the system refuses.
func reserveMemory(capacity, maxBytes uint64) guestMemory {
	page := uint64(os.Getpagesize())
	n := (maxBytes + page - 1) / page * page
	if n == 0 || n > uint64(^uint(0)>>1)-hugePage {
		return newHeapMemory(capacity, maxBytes)
	}
	// MmapPtr rather than Mmap: the reservation is unmapped in parts,
	// which Munmap refuses for a slice it did not return whole.
	p, err := unix.MmapPtr(-1, 0, nil, uintptr(n+hugePage), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE)
	if err != nil {
		return newHeapMemory(capacity, maxBytes)
	}
	raw := unsafe.Slice((*byte)(p), n+hugePage)
	skip := (hugePage - uint64(uintptr(p))%hugePage) % hugePage
	m := &mmapMemory{raw: raw, mem: raw[skip : skip+n : skip+n]}
	_ = unix.Madvise(m.mem, unix.MADV_HUGEPAGE) // advice: refused where huge pages are off
	return m
}

// Reallocate implements [experimental.LinearMemory]: it makes the pages up
// to size accessible, in place. nil (memory.grow fails) past the limit.
func (m *mmapMemory) Reallocate(size uint64) []byte {
	if m.mem == nil || size > uint64(len(m.mem)) {
		return nil
	}
	if size > m.access {
		to := min((size+hugePage-1)/hugePage*hugePage, uint64(len(m.mem)))
		if err := unix.Mprotect(m.mem[m.access:to], unix.PROT_READ|unix.PROT_WRITE); err != nil {
			return nil
		}
		m.access = to
	}
	return m.mem[:size:size]
}

// Free implements [experimental.LinearMemory]. It does nothing: wazero may
// call it while the guest still runs (see [guestMemory]); release unmaps.
func (m *mmapMemory) Free() {}

// release unmaps the reservation, releaseChunk at a time.
func (m *mmapMemory) release() {
	for b := m.raw; len(b) > 0; {
		n := min(len(b), releaseChunk)
		_ = unix.MunmapPtr(unsafe.Pointer(&b[0]), uintptr(n))
		b = b[n:]
	}
	m.raw, m.mem = nil, nil
}
