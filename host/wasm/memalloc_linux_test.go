package wasm

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// TestReservedMemoryUsesHugePages grows a reserved memory as a hostile
// guest does (testdata/wat/grow_limit.wat): 64 KiB at a time, writing to
// every 4 KiB of each new page. Where the kernel offers transparent huge
// pages for advised memory, the grown memory must be backed by some: with
// 4 KiB pages only, a guest growing to 512 MiB makes 131,072 page faults
// in the host's process. Then releasing the memory must leave nothing of
// the reservation mapped.
func TestReservedMemoryUsesHugePages(t *testing.T) {
	thp, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !(strings.Contains(string(thp), "[always]") || strings.Contains(string(thp), "[madvise]")) {
		t.Skipf("transparent huge pages are not offered for advised memory here (%q, %v)", thp, err)
	}
	const limit, grown = 64 << 20, 16 << 20
	gm := reserveMemory(65536, limit)
	m, ok := gm.(*mmapMemory)
	if !ok {
		t.Skipf("the reservation was refused; the memory is %T", gm)
	}
	defer m.release()
	page := os.Getpagesize()
	for size := uint64(65536); size <= grown; size += 65536 {
		buf := m.Reallocate(size)
		if uint64(len(buf)) != size {
			t.Fatalf("Reallocate(%d) returned %d bytes", size, len(buf))
		}
		for off := int(size) - 65536; off < int(size); off += page {
			buf[off] = 1
		}
	}
	lo := uintptr(unsafe.Pointer(&m.raw[0]))
	hi := lo + uintptr(len(m.raw))
	huge := smapsField(t, lo, hi, "AnonHugePages:")
	t.Logf("grown to %d MiB: AnonHugePages %d KiB", grown>>20, huge)
	if huge == 0 {
		t.Errorf("memory grown to %d MiB is backed by no huge page", grown>>20)
	}
	m.release()
	if n := mappingsIn(t, lo, hi); n != 0 {
		t.Errorf("%d mappings of the reservation remain after release", n)
	}
}

// smapsField sums a field (in kB) over the mappings of this process that
// overlap [lo, hi).
func smapsField(t *testing.T, lo, hi uintptr, field string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	sum, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if start, end, ok := mappingRange(line); ok {
			in = start < hi && end > lo
			continue
		}
		if in && strings.HasPrefix(line, field) {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			sum += kb
		}
	}
	return sum
}

// mappingsIn counts the mappings of this process that overlap [lo, hi).
func mappingsIn(t *testing.T, lo, hi uintptr) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip(err)
	}
	n := 0
	for line := range strings.Lines(string(b)) {
		if start, end, ok := mappingRange(line); ok && start < hi && end > lo {
			n++
		}
	}
	return n
}

// mappingRange parses the "start-end" that opens a mapping's line in
// /proc/self/maps and smaps.
func mappingRange(line string) (start, end uintptr, ok bool) {
	r, _, _ := strings.Cut(line, " ")
	a, b, found := strings.Cut(r, "-")
	if !found {
		return 0, 0, false
	}
	s, err1 := strconv.ParseUint(a, 16, 64)
	e, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uintptr(s), uintptr(e), true
}
