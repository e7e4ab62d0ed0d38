package wasm

import (
	"github.com/tetratelabs/wazero/experimental"
)

// guestMemory is an instance's linear memory, as made by its
// [memoryAllocator].
//
// Why not wazero's default: it keeps linear memory in a Go slice and grows
// it with append, so a guest that grows page by page to a limit of hundreds
// of MiB makes the Go heap allocate, zero and copy ever larger slices
// (about five times the final size in all) and the garbage collector run
// again and again over them. Every goroutine of the host pays for that:
// with a 512 MiB limit, other plugins' calls stalled for seconds and the
// host's lookups for up to 10 s (TestMemoryGrowthDoesNotStallOthers), and
// growing to 64 MiB allocated 383 MB of Go heap (BenchmarkGrowToLimit; 52 KB
// now, see BENCHMARKS.md). On Linux the memory is instead
// reserved once, at the limit, as address space without access, and each
// growth makes the new pages readable and writable (mprotect, 2 MiB at a
// time, so that the kernel can use huge pages: see [mmapMemory]): nothing
// moves, nothing is copied, the kernel zeroes the pages when they are first
// written, and none of it is in the Go heap. Elsewhere, or when the
// reservation is refused (an address-space ulimit), the memory is a Go slice
// as wazero's own.
type guestMemory interface {
	experimental.LinearMemory
	// release returns the memory to the system. Only the instance's owner
	// calls it, once the guest can no longer run: wazero's Free may come
	// from the watchdog's goroutine while the guest is still executing,
	// and unmapping memory under running guest code would crash the host.
	release()
}

// memoryAllocator makes the linear memory of one instance and keeps it, so
// that the instance's owner can release it when the instance is discarded.
// It is handed to wazero through the context of the instantiation.
type memoryAllocator struct {
	mem  guestMemory
	inst *instance // whose watchdog paces the growing goroutine
}

// pacedMemory has the guest's goroutine paced before each growth (see
// [paceAfter]).
type pacedMemory struct {
	guestMemory
	a *memoryAllocator
}

// Reallocate implements [experimental.LinearMemory], on the guest's
// goroutine.
func (m pacedMemory) Reallocate(size uint64) []byte {
	if inst := m.a.inst; inst != nil {
		inst.wd.pace()
	}
	return m.guestMemory.Reallocate(size)
}

// Allocate implements [experimental.MemoryAllocator]. capacity is wazero's
// hint for the initial size; maxBytes is the memory's limit.
func (a *memoryAllocator) Allocate(capacity, maxBytes uint64) experimental.LinearMemory {
	if a.mem != nil {
		a.mem.release() // a module has at most one memory; never reached
	}
	a.mem = reserveMemory(capacity, maxBytes)
	return pacedMemory{a.mem, a}
}

// release releases the memory, if one was made. Idempotent.
func (a *memoryAllocator) release() {
	if a.mem != nil {
		a.mem.release()
		a.mem = nil
	}
}

// heapMemory is linear memory in a Go slice, grown like wazero's own.
type heapMemory struct {
	buf      []byte
	maxBytes uint64
}

func newHeapMemory(capacity, maxBytes uint64) *heapMemory {
	return &heapMemory{buf: make([]byte, 0, min(capacity, maxBytes)), maxBytes: maxBytes}
}

// Reallocate implements [experimental.LinearMemory].
func (m *heapMemory) Reallocate(size uint64) []byte {
	switch {
	case size > m.maxBytes:
		return nil
	case size <= uint64(cap(m.buf)):
		m.buf = m.buf[:size]
	default:
		m.buf = append(m.buf, make([]byte, size-uint64(len(m.buf)))...)
	}
	return m.buf
}

// Free implements [experimental.LinearMemory]; the garbage collector frees.
func (m *heapMemory) Free() {}

func (m *heapMemory) release() { m.buf = nil }
