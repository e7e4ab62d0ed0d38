package wasm

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
)

// rootFS is the file system of a directory grant, as wazero's WASI layer
// sees it. Every path resolves beneath the granted directory through an
// [os.Root], which opens each component relative to its parent and follows
// a symbolic link only while it stays beneath the root: a link already in
// the directory that points outside it (absolute, or relative with enough
// "..") is refused with EPERM, never followed, whatever the call (open,
// stat, create, rename, mkdir, unlink, set times).
//
// Why not wazero's own directory mount: it joins the guest's path to the
// host directory and calls the path-based os functions, which follow every
// symbolic link on the host; a guest could create one pointing anywhere and
// read, write or link through it.
//
// The guest cannot create links at all: Symlink and Link answer EPERM.
// A symbolic link's target is only resolved when it is used, so a link that
// points inside when made can point outside once moved; and a hard link
// outlives the checks made on its path. Refusing both keeps the granted
// directory free of anything new that an operator's own tools might follow
// out of it. Readlink is allowed: it reads the link, a file of the grant,
// not its target.
//
// With readOnly, every call that would change the directory answers EROFS,
// including opens with O_CREAT, O_TRUNC or O_APPEND, which a read-only open
// would otherwise honour.
//
// Files it opens are [rootFile]s: they act on their descriptor, never on a
// path again (wazero's own files reopen by host path to change the append
// flag or rewind a directory).
//
// A rootFS is safe for concurrent use; close it once no instance uses it.
type rootFS struct {
	experimentalsys.UnimplementedFS
	root     *os.Root
	readOnly bool
}

var _ experimentalsys.FS = (*rootFS)(nil)

// openRootFS opens dir as the root of a grant.
func openRootFS(dir string, readOnly bool) (*rootFS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &rootFS{root: root, readOnly: readOnly}, nil
}

// close releases the root's descriptor; files opened from it stay usable.
func (r *rootFS) close() error { return r.root.Close() }

// String implements fmt.Stringer, for wazero's logs.
func (r *rootFS) String() string { return r.root.Name() }

// rel turns wazero's path (cleaned, relative to the mount, perhaps with a
// leading slash or a trailing one) into a name for the root.
func rel(p string) string {
	p = strings.TrimLeft(p, "/")
	if p == "" {
		return "."
	}
	return p
}

// errnoOf maps an error of the os package to WASI's numbers. The root's
// refusal of a path that escapes it is not a system error: it becomes EPERM.
func errnoOf(err error) experimentalsys.Errno {
	if err == nil {
		return 0
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		return experimentalsys.UnwrapOSError(en)
	}
	if strings.Contains(err.Error(), "path escapes") {
		return experimentalsys.EPERM
	}
	return experimentalsys.UnwrapOSError(err)
}

// OpenFile implements [experimentalsys.FS].
func (r *rootFS) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	name := rel(p)
	access := flag & (experimentalsys.O_RDONLY | experimentalsys.O_RDWR | experimentalsys.O_WRONLY)
	if flag&experimentalsys.O_DIRECTORY != 0 && access != experimentalsys.O_RDONLY {
		return nil, experimentalsys.EISDIR
	}
	if r.readOnly && (access != experimentalsys.O_RDONLY ||
		flag&(experimentalsys.O_CREAT|experimentalsys.O_TRUNC|experimentalsys.O_APPEND) != 0) {
		return nil, experimentalsys.EROFS
	}
	if flag&experimentalsys.O_NOFOLLOW != 0 {
		// The root follows links beneath it; honour the guest's no-follow.
		if fi, err := r.root.Lstat(name); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, experimentalsys.ELOOP
		}
	}
	f, err := r.root.OpenFile(name, osOpenFlag(flag), perm)
	if err != nil {
		return nil, errnoOf(err)
	}
	return &rootFile{f: f, flag: flag, readOnly: r.readOnly}, 0
}

// osOpenFlag converts wazero's open flags to the os package's.
func osOpenFlag(flag experimentalsys.Oflag) int {
	var f int
	switch flag & (experimentalsys.O_RDONLY | experimentalsys.O_RDWR | experimentalsys.O_WRONLY) {
	case experimentalsys.O_RDWR:
		f = os.O_RDWR
	case experimentalsys.O_WRONLY:
		f = os.O_WRONLY
	default:
		f = os.O_RDONLY
	}
	for _, m := range [...]struct {
		w  experimentalsys.Oflag
		os int
	}{
		{experimentalsys.O_APPEND, os.O_APPEND},
		{experimentalsys.O_CREAT, os.O_CREATE},
		{experimentalsys.O_EXCL, os.O_EXCL},
		{experimentalsys.O_SYNC, os.O_SYNC},
		{experimentalsys.O_TRUNC, os.O_TRUNC},
	} {
		if flag&m.w != 0 {
			f |= m.os
		}
	}
	return f | sysOpenFlag(flag)
}

// Lstat implements [experimentalsys.FS].
func (r *rootFS) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) {
	fi, err := r.root.Lstat(rel(p))
	if err != nil {
		return sys.Stat_t{}, errnoOf(err)
	}
	return sys.NewStat_t(fi), 0
}

// Stat implements [experimentalsys.FS].
func (r *rootFS) Stat(p string) (sys.Stat_t, experimentalsys.Errno) {
	fi, err := r.root.Stat(rel(p))
	if err != nil {
		return sys.Stat_t{}, errnoOf(err)
	}
	return sys.NewStat_t(fi), 0
}

// Mkdir implements [experimentalsys.FS].
func (r *rootFS) Mkdir(p string, perm fs.FileMode) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	errno := errnoOf(r.root.Mkdir(rel(p), perm))
	if errno == experimentalsys.ENOTDIR {
		errno = experimentalsys.ENOENT // as wazero's own directory mount answers
	}
	return errno
}

// Chmod implements [experimentalsys.FS].
func (r *rootFS) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	return errnoOf(r.root.Chmod(rel(p), perm))
}

// Rename implements [experimentalsys.FS]; both names are beneath the root.
func (r *rootFS) Rename(from, to string) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	return errnoOf(r.root.Rename(rel(from), rel(to)))
}

// Rmdir implements [experimentalsys.FS].
func (r *rootFS) Rmdir(p string) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	name := rel(p)
	fi, err := r.root.Lstat(name)
	if err != nil {
		return errnoOf(err)
	}
	if !fi.IsDir() {
		return experimentalsys.ENOTDIR
	}
	return errnoOf(r.root.Remove(name))
}

// Unlink implements [experimentalsys.FS]. A symbolic link is removed, not
// its target.
func (r *rootFS) Unlink(p string) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	name := rel(p)
	fi, err := r.root.Lstat(name)
	if err != nil {
		return errnoOf(err)
	}
	if fi.IsDir() {
		return experimentalsys.EISDIR
	}
	return errnoOf(r.root.Remove(name))
}

// Link implements [experimentalsys.FS]: hard links are refused.
func (r *rootFS) Link(string, string) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	return experimentalsys.EPERM
}

// Symlink implements [experimentalsys.FS]: symbolic links are refused.
func (r *rootFS) Symlink(string, string) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	return experimentalsys.EPERM
}

// Readlink implements [experimentalsys.FS]: it reads a link beneath the
// root (any directory on the way resolved beneath it too).
func (r *rootFS) Readlink(p string) (string, experimentalsys.Errno) {
	dst, err := r.root.Readlink(rel(p))
	if err != nil {
		return "", errnoOf(err)
	}
	return dst, 0
}

// Utimens implements [experimentalsys.FS].
func (r *rootFS) Utimens(p string, atim, mtim int64) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	return errnoOf(r.root.Chtimes(rel(p), nanosTime(atim), nanosTime(mtim)))
}

// nanosTime converts a WASI time to the os package's; UTIME_OMIT becomes
// the zero time, which Chtimes leaves unchanged.
func nanosTime(ns int64) time.Time {
	if ns == experimentalsys.UTIME_OMIT {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// rootFile is a file or directory opened by a [rootFS]. Every method acts on
// its descriptor. It belongs to one guest instance, whose calls are
// sequential, so it needs no lock.
type rootFile struct {
	f        *os.File
	flag     experimentalsys.Oflag // O_APPEND tracks SetAppend
	readOnly bool
	closed   bool

	statted bool // dev, ino and dir are known
	dev     uint64
	ino     sys.Inode
	dir     bool
}

var _ experimentalsys.File = (*rootFile)(nil)

func (f *rootFile) cached() experimentalsys.Errno {
	if f.statted {
		return 0
	}
	_, errno := f.Stat()
	return errno
}

// Dev implements [experimentalsys.File].
func (f *rootFile) Dev() (uint64, experimentalsys.Errno) {
	errno := f.cached()
	return f.dev, errno
}

// Ino implements [experimentalsys.File].
func (f *rootFile) Ino() (sys.Inode, experimentalsys.Errno) {
	errno := f.cached()
	return f.ino, errno
}

// IsDir implements [experimentalsys.File].
func (f *rootFile) IsDir() (bool, experimentalsys.Errno) {
	errno := f.cached()
	return f.dir, errno
}

// IsAppend implements [experimentalsys.File].
func (f *rootFile) IsAppend() bool { return f.flag&experimentalsys.O_APPEND != 0 }

// SetAppend implements [experimentalsys.File], on the descriptor.
func (f *rootFile) SetAppend(enable bool) experimentalsys.Errno {
	if errno := f.check(true, false); errno != 0 {
		return errno
	}
	if errno := setAppend(f.f, enable); errno != 0 {
		return errno
	}
	if enable {
		f.flag |= experimentalsys.O_APPEND
	} else {
		f.flag &^= experimentalsys.O_APPEND
	}
	return 0
}

// Stat implements [experimentalsys.File].
func (f *rootFile) Stat() (sys.Stat_t, experimentalsys.Errno) {
	if f.closed {
		return sys.Stat_t{}, experimentalsys.EBADF
	}
	fi, err := f.f.Stat()
	if err != nil {
		return sys.Stat_t{}, errnoOf(err)
	}
	st := sys.NewStat_t(fi)
	f.statted, f.dev, f.ino, f.dir = true, st.Dev, st.Ino, fi.IsDir()
	return st, 0
}

// check answers EBADF for a closed file and EISDIR (wantFile) or ENOTDIR
// (wantDir) for the wrong kind; 0 otherwise.
func (f *rootFile) check(wantFile, wantDir bool) experimentalsys.Errno {
	if f.closed {
		return experimentalsys.EBADF
	}
	dir, errno := f.IsDir()
	switch {
	case errno != 0:
		return errno
	case wantFile && dir:
		return experimentalsys.EISDIR
	case wantDir && !dir:
		return experimentalsys.ENOTDIR
	}
	return 0
}

// fileErr is the error of a failed file operation, a closed file or a
// directory taking precedence over the system's answer.
func (f *rootFile) fileErr(err error) experimentalsys.Errno {
	if errno := f.check(true, false); errno != 0 {
		return errno
	}
	return errnoOf(err)
}

// Read implements [experimentalsys.File].
func (f *rootFile) Read(buf []byte) (int, experimentalsys.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.f.Read(buf)
	if err != nil && err != io.EOF {
		return n, f.fileErr(err)
	}
	return n, 0
}

// Pread implements [experimentalsys.File].
func (f *rootFile) Pread(buf []byte, off int64) (int, experimentalsys.Errno) {
	if off < 0 {
		return 0, experimentalsys.EINVAL
	}
	n, err := f.f.ReadAt(buf, off)
	if err != nil && err != io.EOF {
		return n, f.fileErr(err)
	}
	return n, 0
}

// fileOffset is int64 under another name, only so that go vet's check of
// io.Seeker's signature passes over [rootFile.Seek], which has wazero's.
type fileOffset = int64

// Seek implements [experimentalsys.File]. Seeking a directory to 0 rewinds
// its listing.
func (f *rootFile) Seek(offset fileOffset, whence int) (int64, experimentalsys.Errno) {
	if f.closed {
		return 0, experimentalsys.EBADF
	}
	n, err := f.f.Seek(offset, whence)
	if err != nil {
		return 0, errnoOf(err)
	}
	return n, 0
}

// Readdir implements [experimentalsys.File]. The entries are stat-ed
// relative to the directory's descriptor.
func (f *rootFile) Readdir(n int) ([]experimentalsys.Dirent, experimentalsys.Errno) {
	if f.closed {
		return nil, experimentalsys.EBADF
	}
	if errno := f.check(false, true); errno != 0 {
		return nil, experimentalsys.EBADF
	}
	fis, err := f.f.Readdir(n)
	if err != nil && err != io.EOF {
		return nil, errnoOf(err)
	}
	dirents := make([]experimentalsys.Dirent, 0, len(fis))
	for _, fi := range fis {
		dirents = append(dirents, experimentalsys.Dirent{Name: fi.Name(), Ino: sys.NewStat_t(fi).Ino, Type: fi.Mode().Type()})
	}
	return dirents, 0
}

// Write implements [experimentalsys.File].
func (f *rootFile) Write(buf []byte) (int, experimentalsys.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.f.Write(buf)
	if err != nil {
		return n, f.fileErr(err)
	}
	return n, 0
}

// Pwrite implements [experimentalsys.File].
func (f *rootFile) Pwrite(buf []byte, off int64) (int, experimentalsys.Errno) {
	if off < 0 {
		return 0, experimentalsys.EINVAL
	}
	n, err := f.f.WriteAt(buf, off)
	if err != nil {
		return n, f.fileErr(err)
	}
	return n, 0
}

// Truncate implements [experimentalsys.File].
func (f *rootFile) Truncate(size int64) experimentalsys.Errno {
	if size < 0 {
		return experimentalsys.EINVAL
	}
	if err := f.f.Truncate(size); err != nil {
		return f.fileErr(err)
	}
	return 0
}

// Sync implements [experimentalsys.File].
func (f *rootFile) Sync() experimentalsys.Errno {
	if f.closed {
		return experimentalsys.EBADF
	}
	return errnoOf(f.f.Sync())
}

// Datasync implements [experimentalsys.File].
func (f *rootFile) Datasync() experimentalsys.Errno { return f.Sync() }

// Utimens implements [experimentalsys.File], on the descriptor.
func (f *rootFile) Utimens(atim, mtim int64) experimentalsys.Errno {
	if f.closed {
		return experimentalsys.EBADF
	}
	if f.readOnly {
		return experimentalsys.EROFS
	}
	return futimens(f.f, atim, mtim)
}

// Close implements [experimentalsys.File]; a second call does nothing.
func (f *rootFile) Close() experimentalsys.Errno {
	if f.closed {
		return 0
	}
	f.closed = true
	return errnoOf(f.f.Close())
}
