package process

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"syscall"
)

// executable is what one start of a plugin executes.
type executable struct {
	// path is handed to execve: the configured path, or a verified copy.
	path string
	// keep is held open until the process has been started (the copy is
	// executed through /proc/self/fd); extra, when set, is passed to the
	// process as fd 3 (a checked #! script's interpreter reads the script
	// through it, after the exec).
	keep, extra *os.File
	// remove is a file copy to delete once the process has ended.
	remove string
	once   sync.Once
}

// release frees what e holds, once the process has been started and has
// ended (or could not start); safe for concurrent use and more than once.
func (e *executable) release() {
	e.once.Do(func() {
		for _, f := range []*os.File{e.keep, e.extra} {
			if f != nil {
				_ = f.Close()
			}
		}
		if e.remove != "" {
			_ = os.Remove(e.remove)
		}
	})
}

// prepareBinary checks that path is an executable regular file and returns
// what to execute.
//
// Without a checksum (want == "") that is path itself. With one, hashing
// the file and then executing it by path would let anyone who can replace
// the file in between (a rename, or a rewrite in place) run other bytes
// under the pin. So the file is read once, through one descriptor, into a
// private copy while it is hashed, and the copy is what runs: on Linux a
// sealed memfd (no file system involved, so a noexec temporary directory
// does not matter, and nothing can write to it once sealed), elsewhere, or
// if memfd is refused, a file of mode 0500 in the plugin's private
// directory dir (mode 0700). The copy is made afresh for every start,
// restarts included, so a file replaced since the last start is caught.
//
// A script (#!) keeps working: its interpreter reads the copy through fd 3,
// and sees a /proc/self/fd/3 (or the copy's path) as its $0.
func prepareBinary(path, want, dir string) (*executable, error) {
	// O_NONBLOCK: a path swapped for a FIFO must not block the open; it is
	// refused below as not a regular file.
	src, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err // wraps fs.ErrNotExist and friends
	}
	defer func() { _ = src.Close() }()
	fi, err := src.Stat()
	if err != nil {
		return nil, fmt.Errorf("process: stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("%w: %s has mode %v", ErrNotExecutable, path, fi.Mode())
	}
	if want == "" {
		return &executable{path: path}, nil
	}
	h := sha256.New()
	exe, err := memfdCopy(src, h)
	if errors.Is(err, errNoMemfd) {
		if _, err := src.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("process: read %s: %w", path, err)
		}
		h.Reset()
		exe, err = fileCopy(src, h, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("process: copy %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		exe.release()
		return nil, &ChecksumError{Path: path, Want: want, Got: got}
	}
	return exe, nil
}

// errNoMemfd: memfd is not available; a file copy is made instead.
var errNoMemfd = errors.New("process: memfd not available")

// fileCopy copies src into a new file of mode 0500 in dir while hashing it.
func fileCopy(src io.Reader, h hash.Hash, dir string) (*executable, error) {
	f, err := os.CreateTemp(dir, "exe-")
	if err != nil {
		return nil, err
	}
	exe := &executable{path: f.Name(), remove: f.Name()}
	_, err = io.Copy(io.MultiWriter(f, h), src)
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Chmod(f.Name(), 0o500)
	}
	if err != nil {
		exe.release()
		return nil, err
	}
	return exe, nil
}

// isScript reports whether the file starts with "#!".
func isScript(f *os.File) bool {
	b := make([]byte, 2)
	n, _ := f.ReadAt(b, 0)
	return bytes.Equal(b[:n], []byte("#!"))
}
