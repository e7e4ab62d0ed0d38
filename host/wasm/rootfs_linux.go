package wasm

import (
	"os"
	"syscall"
	"unsafe"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
)

// sysOpenFlag converts the open flags that the os package does not name.
// O_NOFOLLOW is left out: the root never follows a link out of it and
// rootFS.OpenFile refuses a final link itself.
func sysOpenFlag(flag experimentalsys.Oflag) int {
	var f int
	if flag&experimentalsys.O_DIRECTORY != 0 {
		f |= syscall.O_DIRECTORY
	}
	if flag&experimentalsys.O_DSYNC != 0 {
		f |= syscall.O_DSYNC
	}
	if flag&experimentalsys.O_NONBLOCK != 0 {
		f |= syscall.O_NONBLOCK
	}
	if flag&experimentalsys.O_RSYNC != 0 {
		f |= syscall.O_RSYNC
	}
	return f
}

// setAppend turns O_APPEND on or off on f's descriptor (wazero's own files
// reopen the file by its host path instead).
func setAppend(f *os.File, enable bool) experimentalsys.Errno {
	rc, err := f.SyscallConn()
	if err != nil {
		return errnoOf(err)
	}
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		fl, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
		if e != 0 {
			errno = e
			return
		}
		if enable {
			fl |= syscall.O_APPEND
		} else {
			fl &^= syscall.O_APPEND
		}
		_, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETFL, fl)
	}); err != nil {
		return errnoOf(err)
	}
	return errnoOf(errnoOrNil(errno))
}

// utimeOmit is Linux's UTIME_OMIT.
const utimeOmit = (1 << 30) - 2

// futimens sets f's times through its descriptor (utimensat with a nil
// path), keeping a time given as UTIME_OMIT.
func futimens(f *os.File, atim, mtim int64) experimentalsys.Errno {
	var ts [2]syscall.Timespec
	for i, t := range [2]int64{atim, mtim} {
		if t == experimentalsys.UTIME_OMIT {
			ts[i] = syscall.Timespec{Nsec: utimeOmit}
		} else {
			ts[i] = syscall.NsecToTimespec(t)
		}
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return errnoOf(err)
	}
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall6(syscall.SYS_UTIMENSAT, fd, 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	}); err != nil {
		return errnoOf(err)
	}
	return errnoOf(errnoOrNil(errno))
}

func errnoOrNil(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}
