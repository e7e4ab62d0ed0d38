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
	run := func(b *testing.B, mode, module string) time.Duration {
		out, err := exec.Command(probe, mode, module, cache).Output()
		if err != nil {
			b.Fatalf("loadprobe %s %s: %v", mode, module, err)
		}
		us, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			b.Fatalf("loadprobe %s printed %q", mode, out)
		}
		return time.Duration(us) * time.Microsecond
	}
	for _, m := range benchModules {
		run(b, "load", m.path) // fill the cache
		info, err := os.Stat(m.path)
		if err != nil {
			b.Fatal(err)
		}
		for _, mode := range []string{"load", "wazero"} {
			b.Run(m.name+"/"+mode, func(b *testing.B) {
				var took []time.Duration
				for b.Loop() {
					took = append(took, run(b, mode, m.path))
				}
				slices.Sort(took)
				b.ReportMetric(float64(took[len(took)/2].Microseconds())/1e3, "ms-median")
				b.ReportMetric(float64(info.Size())/1e6, "MB-module")
			})
		}
	}
}
