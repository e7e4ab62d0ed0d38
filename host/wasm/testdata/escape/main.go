// Command escape is a hostile host/wasm test plugin that tries every way it
// knows out of its granted directory. Built by `make wasm` (mk/wasm.mk) into
// ../escape.wasm; never committed.
//
// Its config (JSON) says where the grant is mounted ("mount"), whether it is
// read-only ("read_only") and, as an attacker who knows the host would, the
// host path of a directory outside the grant ("outside"). The test plants, in
// the granted directory:
//
//	in.txt        "inside"
//	in-move.txt   a file to move out
//	inlink        -> in.txt (a link that stays inside)
//	planted-abs   -> <outside> (absolute)
//	planted-rel   -> ../outside
//	planted-file  -> ../outside/canary.txt
//	planted-up    -> ..
//
// and, outside it, outside/canary.txt, outside/victim.txt, outside/outlink
// (a link whose text is secret) and an empty directory emptyout.
//
// On a setting-changed event it makes every attempt in turn, with the os
// package (whose paths the Go runtime cleans) and with raw WASI calls on the
// grant's descriptor (whose paths reach the host as written, ".." and all),
// and logs one line per attempt:
//
//	escape-attempt name=<name> escaped=<bool> detail=<what it got>
//
// then control lines for ordinary work inside the grant, which must succeed:
//
//	escape-control name=<name> ok=<bool> detail=<...>
//
// and finally "escape-done attempts=<n> escaped=<m> controls=<c> failed=<f>".
package main

import (
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/heksher-go/heksher/sdk/wasm"
)

type config struct {
	Mount    string `json:"mount"`
	Outside  string `json:"outside"`
	ReadOnly bool   `json:"read_only"`
}

var cfg config

// grantFD is the descriptor of the only pre-opened directory (after stdin,
// stdout and stderr).
const grantFD = 3

func init() {
	wasm.Init(func(raw []byte) error { return json.Unmarshal(raw, &cfg) })
	wasm.OnSettingChanged(func(wasm.Delivery, wasm.SettingChanged) error {
		run()
		return nil
	})
}

func main() {}

var attempts, escaped, controls, failed int

// attempt runs one escape attempt; f reports whether it got through and what
// it got.
func attempt(name string, f func() (bool, string)) {
	ok, detail := f()
	attempts++
	if ok {
		escaped++
	}
	wasm.Info("escape-attempt name=" + name + " escaped=" + strconv.FormatBool(ok) + " detail=" + strconv.Quote(detail))
}

// control runs one ordinary operation that must work.
func control(name string, f func() error) {
	err := f()
	controls++
	detail := "ok"
	if err != nil {
		failed++
		detail = err.Error()
	}
	wasm.Info("escape-control name=" + name + " ok=" + strconv.FormatBool(err == nil) + " detail=" + strconv.Quote(detail))
}

// errOr reports an error as refused, or success with detail.
func errOr(err error, detail string) (bool, string) {
	if err != nil {
		return false, err.Error()
	}
	return true, detail
}

func readAttempt(p string) func() (bool, string) {
	return func() (bool, string) {
		b, err := os.ReadFile(p)
		return errOr(err, "read "+string(b))
	}
}

func statAttempt(p string, lstat bool) func() (bool, string) {
	return func() (bool, string) {
		st := os.Stat
		if lstat {
			st = os.Lstat
		}
		fi, err := st(p)
		if err != nil {
			return false, err.Error()
		}
		return true, "size " + strconv.FormatInt(fi.Size(), 10) + " mode " + fi.Mode().String()
	}
}

func writeAttempt(p string, flag int) func() (bool, string) {
	return func() (bool, string) {
		f, err := os.OpenFile(p, flag, 0o666)
		if err != nil {
			return false, err.Error()
		}
		_, err = f.WriteString("pwned")
		_ = f.Close()
		return errOr(err, "opened for writing and wrote")
	}
}

func run() {
	m := cfg.Mount
	rw := !cfg.ReadOnly

	// Links made by the guest, and what goes through them.
	attempt("symlink-relative", func() (bool, string) {
		return errOr(os.Symlink("../outside", m+"/esc-rel"), "made "+m+"/esc-rel -> ../outside")
	})
	attempt("read-through-new-relative-link", readAttempt(m+"/esc-rel/canary.txt"))
	attempt("create-through-new-relative-link", writeAttempt(m+"/esc-rel/created.txt", os.O_WRONLY|os.O_CREATE|os.O_EXCL))
	attempt("symlink-absolute", func() (bool, string) {
		return errOr(os.Symlink(cfg.Outside, m+"/esc-abs"), "made "+m+"/esc-abs")
	})
	attempt("read-through-new-absolute-link", readAttempt(m+"/esc-abs/canary.txt"))
	attempt("symlink-deep-relative", func() (bool, string) {
		return errOr(os.Symlink(strings.Repeat("../", 16)+strings.TrimPrefix(cfg.Outside, "/"), m+"/esc-deep"), "made "+m+"/esc-deep")
	})
	attempt("read-through-new-deep-link", readAttempt(m+"/esc-deep/canary.txt"))
	attempt("symlink-to-file", func() (bool, string) {
		return errOr(os.Symlink("../outside/canary.txt", m+"/esc-file"), "made "+m+"/esc-file")
	})
	attempt("read-through-new-file-link", readAttempt(m+"/esc-file"))
	attempt("raw-symlink-dotdot", func() (bool, string) {
		return errnoOr(pathSymlink("../outside", grantFD, "esc-raw"), "made esc-raw -> ../outside")
	})
	attempt("read-through-raw-link", readAttempt(m+"/esc-raw/canary.txt"))
	attempt("raw-symlink-dotdot-name", func() (bool, string) {
		return errnoOr(pathSymlink("canary.txt", grantFD, "../outside/esc-name"), "made ../outside/esc-name")
	})

	// Hard links.
	attempt("hardlink-through-dir-link", func() (bool, string) {
		return errOr(os.Link(m+"/planted-rel/canary.txt", m+"/hard1"), "linked outside/canary.txt as hard1")
	})
	attempt("raw-hardlink-follow", func() (bool, string) {
		return errnoOr(pathLink(grantFD, lookupFollow, "planted-file", grantFD, "hard2"), "linked the link's target as hard2")
	})
	attempt("raw-hardlink-of-planted-link", func() (bool, string) {
		return errnoOr(pathLink(grantFD, 0, "planted-file", grantFD, "hard3"), "linked planted-file (a link out) as hard3")
	})
	attempt("raw-hardlink-dotdot", func() (bool, string) {
		return errnoOr(pathLink(grantFD, 0, "../outside/canary.txt", grantFD, "hard4"), "linked ../outside/canary.txt as hard4")
	})
	attempt("raw-hardlink-dotdot-new", func() (bool, string) {
		return errnoOr(pathLink(grantFD, 0, "in.txt", grantFD, "../outside/hard5"), "linked in.txt as ../outside/hard5")
	})
	attempt("read-through-hardlink", readAttempt(m+"/hard1"))

	// Links planted by the operator (or a former tenant) that point out.
	for _, p := range []string{"planted-file", "planted-abs/canary.txt", "planted-rel/canary.txt", "planted-up/outside/canary.txt"} {
		attempt("read-"+p, readAttempt(m+"/"+p))
		attempt("stat-"+p, statAttempt(m+"/"+p, false))
	}
	attempt("lstat-through-dir-link", statAttempt(m+"/planted-abs/canary.txt", true))
	attempt("readdir-planted-abs", func() (bool, string) {
		es, err := os.ReadDir(m + "/planted-abs")
		if err != nil {
			return false, err.Error()
		}
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		return true, "listed " + strings.Join(names, ",")
	})
	attempt("readdir-planted-up", func() (bool, string) {
		es, err := os.ReadDir(m + "/planted-up")
		if err != nil {
			return false, err.Error()
		}
		return true, "listed " + strconv.Itoa(len(es)) + " entries of the grant's parent"
	})
	attempt("readlink-outside-link", func() (bool, string) {
		s, err := os.Readlink(m + "/planted-abs/outlink")
		return errOr(err, "read link text "+s)
	})
	attempt("chdir-then-read", func() (bool, string) {
		if err := os.Chdir(m + "/planted-abs"); err != nil {
			return false, err.Error()
		}
		defer os.Chdir("/")
		return readAttempt("canary.txt")()
	})

	// "..", absolute and trailing tricks in raw path arguments.
	for _, p := range []string{"../outside/canary.txt", "./../outside/canary.txt", "in.txt/../../outside/canary.txt",
		"planted-up/outside/canary.txt", cfg.Outside + "/canary.txt", "planted-abs/../outside/canary.txt", "planted-file/"} {
		attempt("raw-open "+p, func() (bool, string) { return rawRead(p) })
		attempt("raw-stat "+p, func() (bool, string) {
			var st [64]byte
			return errnoOr(pathFilestatGet(grantFD, lookupFollow, p, unsafe.Pointer(&st[0])), "stat-ed")
		})
	}
	attempt("raw-open-dotdot-dir", func() (bool, string) {
		var fd int32
		return errnoOr(pathOpen(grantFD, lookupFollow, "..", oflagDirectory, ^uint64(0), ^uint64(0), 0, &fd), "opened the grant's parent")
	})
	attempt("raw-readlink-dotdot", func() (bool, string) {
		var buf [256]byte
		var n uint32
		e := pathReadlink(grantFD, "../outside/outlink", &buf[0], uint32(len(buf)), &n)
		return errnoOr(e, "read link text "+string(buf[:n]))
	})

	// Changes outside: writes, creations, removals, renames, times, modes.
	attempt("write-planted-file", writeAttempt(m+"/planted-file", os.O_WRONLY|os.O_TRUNC))
	attempt("append-planted-file", writeAttempt(m+"/planted-file", os.O_WRONLY|os.O_APPEND))
	attempt("create-through-dir-link", writeAttempt(m+"/planted-abs/created.txt", os.O_WRONLY|os.O_CREATE))
	attempt("create-through-up-link", writeAttempt(m+"/planted-up/created-up.txt", os.O_WRONLY|os.O_CREATE))
	attempt("raw-create-dotdot", func() (bool, string) {
		var fd int32
		return errnoOr(pathOpen(grantFD, 0, "../created-raw.txt", oflagCreate, ^uint64(0), ^uint64(0), 0, &fd), "created ../created-raw.txt")
	})
	attempt("truncate-planted-file", func() (bool, string) {
		return errOr(os.Truncate(m+"/planted-file", 0), "truncated")
	})
	attempt("mkdir-through-dir-link", func() (bool, string) {
		return errOr(os.Mkdir(m+"/planted-rel/newdir", 0o777), "made outside/newdir")
	})
	attempt("raw-mkdir-dotdot", func() (bool, string) {
		return errnoOr(pathCreateDirectory(grantFD, "../newdir-raw"), "made ../newdir-raw")
	})
	attempt("unlink-through-dir-link", func() (bool, string) {
		return errOr(os.Remove(m+"/planted-abs/victim.txt"), "removed outside/victim.txt")
	})
	attempt("raw-unlink-dotdot", func() (bool, string) {
		return errnoOr(pathUnlinkFile(grantFD, "../outside/victim.txt"), "removed ../outside/victim.txt")
	})
	attempt("rmdir-through-up-link", func() (bool, string) {
		return errOr(os.Remove(m+"/planted-up/emptyout"), "removed emptyout")
	})
	attempt("raw-rmdir-dotdot", func() (bool, string) {
		return errnoOr(pathRemoveDirectory(grantFD, "../emptyout"), "removed ../emptyout")
	})
	attempt("rename-out", func() (bool, string) {
		return errOr(os.Rename(m+"/in-move.txt", m+"/planted-abs/moved.txt"), "moved in-move.txt out")
	})
	attempt("rename-in", func() (bool, string) {
		return errOr(os.Rename(m+"/planted-abs/victim.txt", m+"/stolen.txt"), "moved outside/victim.txt in")
	})
	attempt("rename-in-through-up", func() (bool, string) {
		return errOr(os.Rename(m+"/planted-up/outside/victim.txt", m+"/stolen2.txt"), "moved outside/victim.txt in")
	})
	attempt("raw-rename-out-dotdot", func() (bool, string) {
		return errnoOr(pathRename(grantFD, "in-move.txt", grantFD, "../outside/moved-raw.txt"), "moved in-move.txt out")
	})
	attempt("raw-rename-in-dotdot", func() (bool, string) {
		return errnoOr(pathRename(grantFD, "../outside/victim.txt", grantFD, "stolen-raw.txt"), "moved victim in")
	})
	attempt("rename-dir-link-then-write", func() (bool, string) {
		// Moving a planted link is allowed in a writable grant; what
		// matters is that writing through it, under its new name, is not.
		_ = os.Rename(m+"/planted-rel", m+"/renamed-rel")
		return writeAttempt(m+"/renamed-rel/created-renamed.txt", os.O_WRONLY|os.O_CREATE)()
	})
	attempt("chtimes-planted-file", func() (bool, string) {
		t := time.Unix(1, 0)
		return errOr(os.Chtimes(m+"/planted-file", t, t), "set the canary's times")
	})
	attempt("raw-chtimes-dotdot", func() (bool, string) {
		return errnoOr(pathFilestatSetTimes(grantFD, lookupFollow, "../outside/canary.txt", 1e9, 1e9, fstAtim|fstMtim), "set the canary's times")
	})
	attempt("raw-chtimes-nofollow-planted", func() (bool, string) {
		return errnoOr(pathFilestatSetTimes(grantFD, 0, "planted-abs/canary.txt", 1e9, 1e9, fstAtim|fstMtim), "set the canary's times")
	})
	attempt("chmod-planted-file", func() (bool, string) {
		return errOr(os.Chmod(m+"/planted-file", 0o777), "changed the canary's mode")
	})

	// Ordinary work inside the grant.
	control("read-inside", func() error { return readWant(m+"/in.txt", "inside") })
	control("read-inside-link", func() error { return readWant(m+"/inlink", "inside") })
	control("readdir-grant", func() error {
		es, err := os.ReadDir(m)
		if err != nil {
			return err
		}
		for _, e := range es {
			if e.Name() == "in.txt" {
				return nil
			}
		}
		return errors.New("in.txt not listed")
	})
	control("readlink-planted", func() error {
		s, err := os.Readlink(m + "/inlink")
		if err == nil && s != "in.txt" {
			err = errors.New("read " + s)
		}
		return err
	})
	if rw {
		control("write-and-read", func() error {
			if err := os.WriteFile(m+"/ok.txt", []byte("ok"), 0o600); err != nil {
				return err
			}
			return readWant(m+"/ok.txt", "ok")
		})
		control("append", func() error {
			f, err := os.OpenFile(m+"/ok.txt", os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			_, err = f.WriteString("!")
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			return readWant(m+"/ok.txt", "ok!")
		})
		control("mkdir-rename-remove", func() error {
			if err := os.Mkdir(m+"/okdir", 0o700); err != nil {
				return err
			}
			if err := os.Rename(m+"/ok.txt", m+"/okdir/ok.txt"); err != nil {
				return err
			}
			if err := readWant(m+"/okdir/ok.txt", "ok!"); err != nil {
				return err
			}
			if err := os.Remove(m + "/okdir/ok.txt"); err != nil {
				return err
			}
			return os.Remove(m + "/okdir")
		})
		control("chtimes-inside", func() error {
			t := time.Unix(1_000_000, 0)
			if err := os.Chtimes(m+"/in.txt", t, t); err != nil {
				return err
			}
			fi, err := os.Stat(m + "/in.txt")
			if err == nil && !fi.ModTime().Equal(t) {
				err = errors.New("mtime is " + fi.ModTime().String())
			}
			return err
		})
	}
	wasm.Info("escape-done attempts=" + strconv.Itoa(attempts) + " escaped=" + strconv.Itoa(escaped) +
		" controls=" + strconv.Itoa(controls) + " failed=" + strconv.Itoa(failed))
}

func readWant(p, want string) error {
	b, err := os.ReadFile(p)
	if err == nil && string(b) != want {
		err = errors.New("read " + strconv.Quote(string(b)))
	}
	return err
}

// rawRead opens p beneath the grant's descriptor, as written, and reads it.
func rawRead(p string) (bool, string) {
	var fd int32
	if e := pathOpen(grantFD, lookupFollow, p, 0, ^uint64(0), ^uint64(0), 0, &fd); e != 0 {
		return false, "errno " + strconv.Itoa(int(e))
	}
	defer fdClose(fd)
	buf := make([]byte, 256)
	iov := iovec{buf: uint32(uintptr(unsafe.Pointer(&buf[0]))), len: uint32(len(buf))}
	var n uint32
	if e := fdRead(fd, &iov, 1, &n); e != 0 {
		return true, "opened, read errno " + strconv.Itoa(int(e))
	}
	return true, "read " + string(buf[:n])
}

func errnoOr(e uint32, detail string) (bool, string) {
	if e != 0 {
		return false, "errno " + strconv.Itoa(int(e))
	}
	return true, detail
}

// Raw WASI calls, so that paths reach the host as written.

const (
	lookupFollow   = 1
	oflagCreate    = 1
	oflagDirectory = 2
	fstAtim        = 1
	fstMtim        = 4
)

type iovec struct{ buf, len uint32 }

func sp(s string) (unsafe.Pointer, uint32) {
	if s == "" {
		return nil, 0
	}
	return unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))
}

//go:wasmimport wasi_snapshot_preview1 path_open
func rawPathOpen(fd int32, dirflags uint32, path unsafe.Pointer, pathLen uint32, oflags uint32, base, inheriting uint64, fdflags uint32, newFD unsafe.Pointer) uint32

func pathOpen(fd int32, dirflags uint32, p string, oflags uint32, base, inheriting uint64, fdflags uint32, newFD *int32) uint32 {
	pp, pl := sp(p)
	return rawPathOpen(fd, dirflags, pp, pl, oflags, base, inheriting, fdflags, unsafe.Pointer(newFD))
}

//go:wasmimport wasi_snapshot_preview1 fd_read
func rawFdRead(fd int32, iovs unsafe.Pointer, iovsLen uint32, nread unsafe.Pointer) uint32

func fdRead(fd int32, iov *iovec, n uint32, nread *uint32) uint32 {
	return rawFdRead(fd, unsafe.Pointer(iov), n, unsafe.Pointer(nread))
}

//go:wasmimport wasi_snapshot_preview1 fd_close
func fdClose(fd int32) uint32

//go:wasmimport wasi_snapshot_preview1 path_filestat_get
func rawPathFilestatGet(fd int32, flags uint32, path unsafe.Pointer, pathLen uint32, buf unsafe.Pointer) uint32

func pathFilestatGet(fd int32, flags uint32, p string, buf unsafe.Pointer) uint32 {
	pp, pl := sp(p)
	return rawPathFilestatGet(fd, flags, pp, pl, buf)
}

//go:wasmimport wasi_snapshot_preview1 path_filestat_set_times
func rawPathFilestatSetTimes(fd int32, flags uint32, path unsafe.Pointer, pathLen uint32, atim, mtim uint64, fst uint32) uint32

func pathFilestatSetTimes(fd int32, flags uint32, p string, atim, mtim uint64, fst uint32) uint32 {
	pp, pl := sp(p)
	return rawPathFilestatSetTimes(fd, flags, pp, pl, atim, mtim, fst)
}

//go:wasmimport wasi_snapshot_preview1 path_symlink
func rawPathSymlink(old unsafe.Pointer, oldLen uint32, fd int32, newPath unsafe.Pointer, newLen uint32) uint32

func pathSymlink(old string, fd int32, newPath string) uint32 {
	op, ol := sp(old)
	np, nl := sp(newPath)
	return rawPathSymlink(op, ol, fd, np, nl)
}

//go:wasmimport wasi_snapshot_preview1 path_link
func rawPathLink(oldFD int32, oldFlags uint32, old unsafe.Pointer, oldLen uint32, newFD int32, newPath unsafe.Pointer, newLen uint32) uint32

func pathLink(oldFD int32, flags uint32, old string, newFD int32, newPath string) uint32 {
	op, ol := sp(old)
	np, nl := sp(newPath)
	return rawPathLink(oldFD, flags, op, ol, newFD, np, nl)
}

//go:wasmimport wasi_snapshot_preview1 path_rename
func rawPathRename(oldFD int32, old unsafe.Pointer, oldLen uint32, newFD int32, newPath unsafe.Pointer, newLen uint32) uint32

func pathRename(oldFD int32, old string, newFD int32, newPath string) uint32 {
	op, ol := sp(old)
	np, nl := sp(newPath)
	return rawPathRename(oldFD, op, ol, newFD, np, nl)
}

//go:wasmimport wasi_snapshot_preview1 path_readlink
func rawPathReadlink(fd int32, path unsafe.Pointer, pathLen uint32, buf unsafe.Pointer, bufLen uint32, n unsafe.Pointer) uint32

func pathReadlink(fd int32, p string, buf *byte, bufLen uint32, n *uint32) uint32 {
	pp, pl := sp(p)
	return rawPathReadlink(fd, pp, pl, unsafe.Pointer(buf), bufLen, unsafe.Pointer(n))
}

//go:wasmimport wasi_snapshot_preview1 path_create_directory
func rawPathCreateDirectory(fd int32, path unsafe.Pointer, pathLen uint32) uint32

func pathCreateDirectory(fd int32, p string) uint32 {
	pp, pl := sp(p)
	return rawPathCreateDirectory(fd, pp, pl)
}

//go:wasmimport wasi_snapshot_preview1 path_unlink_file
func rawPathUnlinkFile(fd int32, path unsafe.Pointer, pathLen uint32) uint32

func pathUnlinkFile(fd int32, p string) uint32 {
	pp, pl := sp(p)
	return rawPathUnlinkFile(fd, pp, pl)
}

//go:wasmimport wasi_snapshot_preview1 path_remove_directory
func rawPathRemoveDirectory(fd int32, path unsafe.Pointer, pathLen uint32) uint32

func pathRemoveDirectory(fd int32, p string) uint32 {
	pp, pl := sp(p)
	return rawPathRemoveDirectory(fd, pp, pl)
}
