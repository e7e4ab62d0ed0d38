package process

import (
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// A plugin's whole process tree must end with it: when the host stops,
// restarts or loses the plugin, and when the host itself is SIGKILLed and
// can run no cleanup. A process group is not enough (a descendant can leave
// it with setsid), a child subreaper needs the host alive to act, and a
// cgroup needs a delegated cgroup v2 hierarchy, which most hosts do not
// have. A PID namespace does it all in the kernel: each plugin process is
// PID 1 (the init) of a namespace of its own, and when an init exits, for
// whatever reason, the kernel SIGKILLs every process left in its namespace,
// setsid descendants included. The init gets SIGKILL as its parent-death
// signal, so a host killed outright takes every plugin tree with it even if
// the plugin ignores SIGTERM (there is nobody left to give a grace period
// to). As root the host creates the namespace directly; otherwise it asks
// for a user namespace too, mapping only its own uid and gid, so the plugin
// runs with the host's identity and no extra privilege.
//
// Being an init has consequences a plugin can see: os.Getpid() is 1,
// os.Getppid() is 0, signals it has no handler for are ignored even when it
// sends them to itself (a Go program still dies on a fatal signal: the
// runtime exits when re-raising does not kill it), and orphaned descendants
// are re-parented to it. The host never relies on SIGTERM: it stops a plugin
// through go-plugin's gRPC shutdown, then SIGKILL.
//
// Where namespaces are not permitted (a container without CAP_SYS_ADMIN and
// with user namespaces blocked), the host falls back to a process group and
// says so once in the log: the plugin and its descendants that stay in its
// group end with it, and the plugin itself ends when the host is SIGKILLed;
// a descendant that started its own session survives.

// firstMode is the first isolation worth trying in this process: it moves
// down once the system refuses a mode, so that every later start skips the
// refused attempt.
var firstMode atomic.Uint32

// fallbackLogged makes the "namespaces not permitted" warning appear once
// per host process.
var fallbackLogged sync.Once

// isolationOrder returns the modes to try in order.
func isolationOrder(forced isolation) []isolation {
	if forced != isolateAuto {
		return []isolation{forced}
	}
	all := []isolation{isolatePIDNS, isolateUserPIDNS, isolateGroup}
	first := isolation(firstMode.Load())
	if first == isolateAuto {
		first = isolatePIDNS
		if os.Geteuid() != 0 {
			first = isolateUserPIDNS
		}
	}
	return all[first-isolatePIDNS:]
}

// refused reports whether a start failed because the system does not permit
// mode's namespaces, so that the next mode is worth trying.
func refused(mode isolation, err error) bool {
	if mode == isolateGroup {
		return false
	}
	for _, e := range []syscall.Errno{syscall.EPERM, syscall.EINVAL, syscall.ENOSPC, syscall.EUSERS, syscall.ENOSYS} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// fellBack records that mode works after the modes before it were refused.
func fellBack(mode isolation, log *slog.Logger, cause error) {
	firstMode.Store(uint32(mode))
	if mode == isolateGroup {
		fallbackLogged.Do(func() {
			log.Warn("PID namespaces are not permitted here; process plugins run in a process group of their own only: "+
				"a plugin's descendants that leave its group (setsid) can outlive it", "error", cause)
		})
	}
}

// sysProcAttr starts the plugin as mode says, in a process group of its own,
// with SIGKILL as its parent-death signal (see starter: the signal follows
// the thread that forked).
//
// The own group matters because terminals and service managers signal whole
// groups: Ctrl-C sends SIGINT, and `timeout` or a systemd stop send SIGTERM,
// to every process of the host's group. A plugin in that group would die
// before the host had delivered the closing event to it; in its own group
// only the host decides when it stops.
func sysProcAttr(mode isolation) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	switch mode {
	case isolatePIDNS:
		a.Cloneflags = syscall.CLONE_NEWPID
	case isolateUserPIDNS:
		a.Cloneflags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWPID
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Geteuid(), HostID: os.Geteuid(), Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getegid(), HostID: os.Getegid(), Size: 1}}
		a.GidMappingsEnableSetgroups = false
	}
	return a
}

// ownNamespace reports whether mode makes the plugin the init of its own
// PID namespace (it cannot see the host's pid, and the kernel ends its tree).
func ownNamespace(mode isolation) bool { return mode == isolatePIDNS || mode == isolateUserPIDNS }

// killTree SIGKILLs the plugin's process group, then the process itself
// (through proc, which is safe against pid reuse). In a PID namespace,
// killing the init is enough: the kernel kills the rest of the namespace.
func killTree(proc *os.Process) {
	_ = syscall.Kill(-proc.Pid, syscall.SIGKILL)
	_ = proc.Kill()
}
