package wasm

import (
	"errors"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// canLowerPriority reports whether a thread's priority, once lowered, can
// be restored: raising it back needs CAP_SYS_NICE or an RLIMIT_NICE that
// allows it. Without that, a lowered thread would go on serving the host's
// other goroutines at low priority, so calls are not lowered at all. It is
// probed once, on a throwaway thread that exits if the probe fails.
var canLowerPriority = sync.OnceValue(func() bool {
	ok := make(chan bool, 1)
	go func() {
		runtime.LockOSThread() // never unlocked on failure: the thread exits with the goroutine
		tid := unix.Gettid()
		prev, err := threadNice(tid)
		if err != nil || prev >= lowNice {
			ok <- false
			return
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, prev+1); err != nil {
			ok <- false
			return
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, prev); err != nil {
			ok <- false
			return
		}
		runtime.UnlockOSThread()
		ok <- true
	}()
	return <-ok
})

// lockCallThread pins the calling goroutine to its OS thread for one call,
// so that the thread whose priority the call lowers is the one disarm
// restores. It reports false (and pins nothing) where priorities cannot be
// restored.
func lockCallThread() bool {
	if !canLowerPriority() {
		return false
	}
	runtime.LockOSThread()
	return true
}

// unlockCallThread undoes lockCallThread once the call has returned. If the
// thread's priority could not be restored (restored false), the goroutine
// keeps the thread, so that no other goroutine runs on it at low priority.
func unlockCallThread(locked, restored bool) {
	if locked && restored {
		runtime.UnlockOSThread()
	}
}

// lowerThisThread lowers the priority of the calling thread to lowNice and
// returns its id and nice value before. It lowers nothing unless GOMAXPROCS
// is above the number of cores: a thread at low priority holds its P while
// it runs, and with no P to spare the host's goroutines wait for it.
func lowerThisThread() (tid, prev int, err error) {
	if runtime.GOMAXPROCS(0) <= runtime.NumCPU() {
		return 0, 0, errors.New("no Go P to spare")
	}
	tid = unix.Gettid()
	prev, err = threadNice(tid)
	if err != nil {
		return 0, 0, err
	}
	if prev >= lowNice {
		return 0, 0, errors.New("already at low priority")
	}
	return tid, prev, unix.Setpriority(unix.PRIO_PROCESS, tid, lowNice)
}

// restoreThread sets the nice value of thread tid back to prev.
func restoreThread(tid, prev int) error {
	return unix.Setpriority(unix.PRIO_PROCESS, tid, prev)
}

// threadNice returns the nice value of thread tid (the system call returns
// 20 - nice, to stay positive).
func threadNice(tid int) (int, error) {
	p, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	return 20 - p, err
}
