package wasm

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkLoadFreshProcess times a warm-cache load the way a host does it
// at start: one load per new process (testdata/loadprobe), so that nothing
// but the on-disk compilation cache is warm. ns/op is the whole process;
// the figures that matter are the reported medians, measured inside the
// child around the load alone. "wazero" is wazero compiling the same bytes
// from the same cache, the floor under "load".
func BenchmarkLoadFreshProcess(b *testing.B) {
	probe := filepath.Join(b.TempDir(), "loadprobe")
	build := exec.Command("go", "build", "-o", probe, "./testdata/loadprobe")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building the probe: %v\n%s", err, out)
	}
	cache := b.TempDir()
	run := func(b *testing.B, mode string) time.Duration {
		out, err := exec.Command(probe, mode, guestWasm, cache).Output()
		if err != nil {
			b.Fatalf("loadprobe %s: %v", mode, err)
		}
		us, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			b.Fatalf("loadprobe %s printed %q", mode, out)
		}
		return time.Duration(us) * time.Microsecond
	}
	run(b, "load") // fill the cache
	code, err := os.Stat(guestWasm)
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"load", "wazero"} {
		b.Run(mode, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				took = append(took, run(b, mode))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1e3, "ms-median")
			b.ReportMetric(float64(code.Size())/1e6, "MB-module")
		})
	}
}
