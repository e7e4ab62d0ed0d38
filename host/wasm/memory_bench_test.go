package wasm

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkGrowToLimit measures one hook call of testdata/wat/grow_limit.wat
// growing a fresh instance page by page to its limit, writing to every
// 4 KiB of each page; the instance is then recycled, so each iteration also
// makes a fresh one.
func BenchmarkGrowToLimit(b *testing.B) {
	for _, pages := range []uint32{1024} {
		b.Run(fmt.Sprintf("limit=%dMiB", pages/16), func(b *testing.B) {
			r, _ := newTestRuntime(b)
			p := mustLoad(b, r, PluginConfig{Name: "grower", Path: growLimitWat, MemoryLimitPages: pages, Deadline: time.Minute}, nil)
			b.ReportAllocs()
			for b.Loop() {
				if err := deliver(p, changed("grow")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLinearMemoryGrowth grows one linear memory page by page to
// 512 MiB, writing to every 4 KiB, through each implementation:
// "reserved" is the one instances use on Linux, "heap" a Go slice grown
// with append, as wazero's default allocator grows it.
func BenchmarkLinearMemoryGrowth(b *testing.B) {
	const limit = 512 << 20
	page := os.Getpagesize()
	for _, impl := range []struct {
		name string
		make func() guestMemory
	}{
		{"reserved", func() guestMemory { return reserveMemory(65536, limit) }},
		{"heap", func() guestMemory { return newHeapMemory(65536, limit) }},
	} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m := impl.make()
				for size := uint64(65536); size <= limit; size += 65536 {
					buf := m.Reallocate(size)
					for off := int(size) - 65536; off < int(size); off += page {
						buf[off] = 1
					}
				}
				m.release()
			}
		})
	}
}
