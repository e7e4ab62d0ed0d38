package wasm

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

const escapeWasm = "testdata/escape.wasm"

// TestGrantConfinesHostileGuest runs a guest that tries every way out of its
// granted directory it knows (testdata/escape: links it makes, links planted
// in the grant that point out, hard links, ".." and absolute paths in raw
// WASI calls, renames across the boundary, writes, removals, times) in a
// writable and a read-only grant. Every attempt must be refused, the canary
// outside must never reach the guest, nothing outside may change, and
// ordinary work inside the grant must still succeed.
func TestGrantConfinesHostileGuest(t *testing.T) {
	for _, readOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("read_only=%v", readOnly), func(t *testing.T) {
			base := t.TempDir()
			secret := randomHex(t)
			linkSecret := "link-text-" + randomHex(t)
			outside := filepath.Join(base, "outside")
			grant := filepath.Join(base, "grant")
			mustMkdir(t, outside, grant, filepath.Join(base, "emptyout"))
			mustWrite(t, filepath.Join(outside, "canary.txt"), "canary-"+secret)
			mustWrite(t, filepath.Join(outside, "victim.txt"), "victim")
			mustSymlink(t, linkSecret, filepath.Join(outside, "outlink"))
			mustWrite(t, filepath.Join(grant, "in.txt"), "inside")
			mustWrite(t, filepath.Join(grant, "in-move.txt"), "move me")
			mustSymlink(t, "in.txt", filepath.Join(grant, "inlink"))
			mustSymlink(t, outside, filepath.Join(grant, "planted-abs"))
			mustSymlink(t, "../outside", filepath.Join(grant, "planted-rel"))
			mustSymlink(t, "../outside/canary.txt", filepath.Join(grant, "planted-file"))
			mustSymlink(t, "..", filepath.Join(grant, "planted-up"))
			before := snapshotTree(t, base, grant)

			r, rec := newTestRuntime(t)
			cfg, _ := json.Marshal(map[string]any{"mount": "/data", "outside": outside, "read_only": readOnly})
			p := mustLoad(t, r, PluginConfig{Name: "escape", Path: escapeWasm, Config: cfg,
				Grants: Grants{Dir: grant, DirReadOnly: readOnly}}, nil)
			if err := deliver(p, changed("escape")); err != nil {
				t.Fatalf("deliver: %v\n%s", err, rec.dump())
			}

			done := rec.find("escape-done")
			if done == "" {
				t.Fatalf("the guest did not finish its attempts:\n%s", rec.dump())
			}
			if !strings.Contains(done, " escaped=0 ") {
				t.Errorf("%s", done)
			}
			if n := rec.count("escape-attempt"); n < 60 || !strings.Contains(done, fmt.Sprintf("attempts=%d ", n)) {
				t.Errorf("%d attempts logged, want every one (60 or more): %s", n, done)
			}
			for _, l := range strings.Split(rec.dump(), "\n") {
				if strings.Contains(l, "escape-attempt") && !strings.Contains(l, "escaped=false") {
					t.Errorf("escaped: %s", l)
				}
				if strings.Contains(l, "escape-control") && !strings.Contains(l, "ok=true") {
					t.Errorf("ordinary work inside the grant failed: %s", l)
				}
				if strings.Contains(l, secret) || strings.Contains(l, linkSecret) {
					t.Errorf("content from outside the grant reached the guest: %s", l)
				}
			}
			if !strings.Contains(done, " failed=0") {
				t.Errorf("%s", done)
			}

			after := snapshotTree(t, base, grant)
			if d := diffSnapshots(before, after); d != "" {
				t.Errorf("outside the grant changed:\n%s", d)
			}
			// Nothing the guest left in the grant is a link it made or a
			// second name for a file.
			planted := []string{"inlink", "planted-abs", "planted-file", "planted-up", "planted-rel", "renamed-rel"}
			_ = filepath.WalkDir(grant, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.Type()&fs.ModeSymlink != 0 && !slices.Contains(planted, d.Name()) {
					t.Errorf("the guest made a link: %s", path)
				}
				if fi, err := os.Lstat(path); err == nil && !d.IsDir() {
					if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
						t.Errorf("the guest made a hard link: %s has %d names", path, st.Nlink)
					}
				}
				return nil
			})
		})
	}
}

func randomHex(t *testing.T) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

func mustMkdir(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// snapshotTree describes every entry under base except the subtree skip:
// name, type, mode, size, modification time, link count, and a file's
// content or a link's target.
func snapshotTree(t *testing.T, base, skip string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == skip {
			return filepath.SkipDir
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		desc := fmt.Sprintf("%v size=%d mtime=%d", fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			desc += fmt.Sprintf(" nlink=%d", st.Nlink)
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(path)
			desc += " -> " + target
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(path)
			desc += " content=" + string(b)
		}
		snap[path] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func diffSnapshots(before, after map[string]string) string {
	var b strings.Builder
	for p, d := range before {
		if a, ok := after[p]; !ok {
			fmt.Fprintf(&b, "removed %s (%s)\n", p, d)
		} else if a != d {
			fmt.Fprintf(&b, "changed %s: %s, now %s\n", p, d, a)
		}
	}
	for p, a := range after {
		if _, ok := before[p]; !ok {
			fmt.Fprintf(&b, "new %s (%s)\n", p, a)
		}
	}
	return b.String()
}
