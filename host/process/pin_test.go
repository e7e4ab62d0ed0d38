package process

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/heksher-go/heksher/pluginapi"
)

// TestChecksum_SwapRace restarts a checksum-pinned plugin many times while
// another goroutine keeps swapping its file between the pinned binary and an
// evil script (which would leave a marker file, then run the real plugin so
// that it even starts), by atomic rename and by rewriting the file in
// place. The evil script never runs: what runs is always the bytes that
// were hashed.
func TestChecksum_SwapRace(t *testing.T) {
	const restarts = 15
	tests := []struct {
		name, how string
		script    bool // the pinned file is a #! script that runs the plugin
	}{
		{name: "rename binary", how: "rename"},
		{name: "rename script", how: "rename", script: true},
		{name: "rewrite script", how: "rewrite", script: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			goodBin := bin(t, "testplugin")
			good, err := os.ReadFile(goodBin)
			if err != nil {
				t.Fatal(err)
			}
			if tc.script {
				good = []byte("#!/bin/sh\nexec " + goodBin + " \"$@\"\n")
			}
			marker := filepath.Join(dir, "evil-ran")
			evil := []byte("#!/bin/sh\ntouch " + marker + "\nexec " + goodBin + " \"$@\"\n")
			path := filepath.Join(dir, "plugin")
			if err := os.WriteFile(path, good, 0o755); err != nil {
				t.Fatal(err)
			}
			cfg, rec := testPluginConfig(t, "pinned")
			cfg.Path = path
			cfg.SHA256 = sha256File(t, path)
			cfg.MaxRestarts = 1 << 20 // a refused restart is retried, never given up
			cfg.Backoff = Backoff{Initial: time.Millisecond, Max: 20 * time.Millisecond}
			p := startPlugin(t, cfg, newMemSettings())

			stop := swapper(t, tc.how, path, good, evil, dir)
			defer stop()
			for i := range restarts {
				old := pidOf(t, p)
				if err := command(context.Background(), p, uint64(i+1), "cmd.exit", nil); !errors.Is(err, ErrCrashed) {
					t.Fatalf("restart %d: err = %v, want ErrCrashed", i, err)
				}
				waitFor(t, "the restart", func() bool {
					st := p.Status()
					return st.State == pluginapi.StateRunning && st.Detail["pid"] != strconv.Itoa(old)
				})
				if _, err := os.Stat(marker); err == nil {
					t.Fatalf("the evil file ran (restart %d)", i)
				}
			}
			stop()
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the evil file ran")
			}
			var inits int
			for _, r := range readRecords(t, rec) {
				if r.What == "init" {
					inits++
				}
			}
			t.Logf("%d processes initialised in %d restart attempts (the others were refused)", inits, p.Status().Restarts)
		})
	}
}

// swapper swaps path between good and evil until the returned stop is
// called, which leaves good in place.
func swapper(t *testing.T, how, path string, good, evil []byte, dir string) (stop func()) {
	t.Helper()
	var write func(b []byte)
	switch how {
	case "rename":
		// Prepared once; each swap links one into place and renames it.
		goodFile, evilFile := filepath.Join(dir, "good"), filepath.Join(dir, "evil")
		for f, b := range map[string][]byte{goodFile: good, evilFile: evil} {
			if err := os.WriteFile(f, b, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		tmp := path + ".swap"
		write = func(b []byte) {
			src := goodFile
			if bytes.Equal(b, evil) {
				src = evilFile
			}
			_ = os.Remove(tmp)
			if os.Link(src, tmp) == nil {
				_ = os.Rename(tmp, path)
			}
		}
	case "rewrite":
		write = func(b []byte) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				return // ETXTBSY while a process runs the file itself
			}
			_, _ = f.Write(b)
			_ = f.Close()
		}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-quit:
				write(good)
				return
			default:
			}
			if i%2 == 0 {
				write(evil)
			} else {
				write(good)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			wg.Wait()
		})
	}
}
