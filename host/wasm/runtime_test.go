package wasm

import (
	"context"
	"io/fs"
	"maps"
	"path/filepath"
	"testing"
	"time"
)

// TestCompileOnceAndGroups checks that plugins loaded from the same bytes
// share one compiled module per policy group, and that plugins are grouped
// into wazero runtimes by what wazero can only set per runtime: preemption
// (close-on-context-done) and the memory limit.
func TestCompileOnceAndGroups(t *testing.T) {
	r, _ := newTestRuntime(t)
	load := func(name string, noPreempt bool, pages uint32) *Plugin {
		return mustLoad(t, r, PluginConfig{Name: name, Path: watPluginWasm, DisablePreemption: noPreempt, MemoryLimitPages: pages}, nil)
	}
	a, b := load("a", false, 0), load("b", false, 0)
	trusted := load("trusted", true, 0)
	small := load("small", false, 64)
	if a.g != b.g || a.c != b.c || a.c.refs != 2 {
		t.Fatalf("same policy and bytes: groups %p %p, compiled %p %p (refs %d)", a.g, b.g, a.c, b.c, a.c.refs)
	}
	if trusted.g == a.g || small.g == a.g || trusted.g == small.g {
		t.Fatal("different policies share a wazero runtime")
	}
	if a.g.key != (groupKey{preempt: true, memPages: DefaultMemoryLimitPages}) || trusted.g.key.preempt || small.g.key.memPages != 64 {
		t.Fatalf("group keys: %+v %+v %+v", a.g.key, trusted.g.key, small.g.key)
	}
	for _, p := range []*Plugin{a, b, trusted, small} {
		if err := deliver(p, changed("motd")); err != nil {
			t.Fatalf("%s: %v", p.Name(), err)
		}
		if st := p.Status(); (st.Detail["preemption"] == "off") != (p == trusted) {
			t.Errorf("%s: preemption %s", p.Name(), st.Detail["preemption"])
		}
	}
	// The compiled module lives while a plugin uses it.
	c := a.c
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.refs != 1 || b.g.compiled[c.sum] != c {
		t.Fatalf("after closing one of two users: refs %d", c.refs)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.g.compiled[c.sum]; ok {
		t.Fatal("compiled module kept after its last user closed")
	}
}

// TestDiskCompilationCache checks that a runtime with a CacheDir writes the
// compiled code there, and that a new runtime over the same directory loads
// from it without compiling again (wazero writes an entry only on a miss).
func TestDiskCompilationCache(t *testing.T) {
	dir := t.TempDir()
	var first map[string]time.Time
	for i := range 2 {
		r, err := NewRuntime(context.Background(), RuntimeConfig{CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		p := mustLoad(t, r, PluginConfig{Name: "cached", Path: watPluginWasm}, nil)
		if err := deliver(p, changed("motd")); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if err := r.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		files := cacheFiles(t, dir)
		if len(files) == 0 {
			t.Fatalf("run %d: nothing in the cache directory", i)
		}
		if i == 0 {
			first = files
		} else if !maps.Equal(files, first) {
			t.Fatalf("the second runtime rewrote the cache: %v, then %v", first, files)
		}
	}
}

// cacheFiles returns the regular files under dir with their modification
// times.
func cacheFiles(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	files := map[string]time.Time{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files[path] = info.ModTime()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
