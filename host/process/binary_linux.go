package process

import (
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// memfdCopy copies src into a sealed memfd while hashing it, and returns an
// executable that runs it through /proc/self/fd. It returns errNoMemfd when
// the kernel (or a seccomp filter) refuses memfd.
func memfdCopy(src io.Reader, h hash.Hash) (*executable, error) {
	flags := unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	// MFD_EXEC (Linux 6.3) keeps the memfd executable where the
	// vm.memfd_noexec sysctl would make it noexec by default; older kernels
	// refuse the flag with EINVAL.
	fd, err := unix.MemfdCreate("heksher-plugin", flags|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate("heksher-plugin", flags)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNoMemfd, err)
	}
	rw := os.NewFile(uintptr(fd), "memfd")
	defer func() { _ = rw.Close() }()
	if _, err := io.Copy(io.MultiWriter(rw, h), src); err != nil {
		return nil, err
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(rw.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		return nil, fmt.Errorf("seal memfd: %w", err)
	}
	// A read-only descriptor to execute: execve refuses a file open for
	// writing (ETXTBSY).
	ro, err := os.Open("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return nil, fmt.Errorf("reopen memfd: %w", err)
	}
	if isScript(ro) {
		// The kernel refuses to run a script from a close-on-exec
		// descriptor (the interpreter could not open it): pass it as fd 3.
		return &executable{path: "/proc/self/fd/3", extra: ro}, nil
	}
	// A binary is opened by execve itself, before close-on-exec closes the
	// descriptor: the plugin inherits nothing.
	return &executable{path: "/proc/self/fd/" + strconv.Itoa(int(ro.Fd())), keep: ro}, nil
}
