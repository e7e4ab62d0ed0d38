//go:build unix

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

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
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

// TestRootFileActsOnItsDescriptor checks what a Go guest cannot reach
// through package os: the append flag and the times are changed on the open
// descriptor, so a file swapped for a link out of the grant after it was
// opened is never touched; O_NOFOLLOW refuses a link; a read-only grant
// refuses an open that would create, truncate or append.
func TestRootFileActsOnItsDescriptor(t *testing.T) {
	base := t.TempDir()
	grant := filepath.Join(base, "grant")
	mustMkdir(t, grant)
	mustWrite(t, filepath.Join(base, "canary.txt"), "canary")
	mustWrite(t, filepath.Join(grant, "f.txt"), "a")
	mustSymlink(t, "f.txt", filepath.Join(grant, "link"))
	canary, err := os.Stat(filepath.Join(base, "canary.txt"))
	if err != nil {
		t.Fatal(err)
	}

	fsys, err := openRootFS(grant, false)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.close()
	f, errno := fsys.OpenFile("f.txt", experimentalsys.O_WRONLY, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	defer f.Close()
	// Swap the file's name for a link out of the grant, as another holder
	// of the directory could.
	if err := os.Rename(filepath.Join(grant, "f.txt"), filepath.Join(grant, "moved.txt")); err != nil {
		t.Fatal(err)
	}
	mustSymlink(t, "../canary.txt", filepath.Join(grant, "f.txt"))
	if errno := f.SetAppend(true); errno != 0 {
		t.Fatalf("SetAppend: %v", errno)
	}
	if _, errno := f.Write([]byte("b")); errno != 0 {
		t.Fatalf("Write: %v", errno)
	}
	if errno := f.Utimens(experimentalsys.UTIME_OMIT, 1e9); errno != 0 {
		t.Fatalf("Utimens: %v", errno)
	}
	if b, _ := os.ReadFile(filepath.Join(grant, "moved.txt")); string(b) != "ab" {
		t.Errorf("the open file holds %q, want %q (appended through its descriptor)", b, "ab")
	}
	if fi, _ := os.Stat(filepath.Join(grant, "moved.txt")); fi == nil || fi.ModTime().Unix() != 1 {
		t.Errorf("the open file's mtime was not set through its descriptor: %v", fi)
	}
	if after, _ := os.Stat(filepath.Join(base, "canary.txt")); after == nil || !after.ModTime().Equal(canary.ModTime()) || after.Size() != canary.Size() {
		t.Errorf("the canary outside the grant changed: %v", after)
	}
	if _, errno := fsys.OpenFile("link", experimentalsys.O_RDONLY|experimentalsys.O_NOFOLLOW, 0); errno != experimentalsys.ELOOP {
		t.Errorf("O_NOFOLLOW on a link: errno %v, want ELOOP", errno)
	}

	ro, err := openRootFS(grant, true)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.close()
	for _, flag := range []experimentalsys.Oflag{experimentalsys.O_RDONLY | experimentalsys.O_TRUNC,
		experimentalsys.O_RDONLY | experimentalsys.O_CREAT, experimentalsys.O_RDONLY | experimentalsys.O_APPEND, experimentalsys.O_RDWR} {
		if _, errno := ro.OpenFile("moved.txt", flag, 0o666); errno != experimentalsys.EROFS {
			t.Errorf("read-only grant, open flags %v: errno %v, want EROFS", flag, errno)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(grant, "moved.txt")); string(b) != "ab" {
		t.Errorf("a read-only open changed the file: %q", b)
	}
}
