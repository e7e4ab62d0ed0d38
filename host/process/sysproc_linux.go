package process

import "syscall"

// sysProcAttr starts the plugin in a process group of its own and asks the
// kernel to SIGTERM it when the thread that started it dies, i.e. when the
// host dies (see starter).
//
// The own group matters because terminals and service managers signal whole
// groups: Ctrl-C sends SIGINT, and `timeout` or a systemd stop send SIGTERM,
// to every process of the host's group. A plugin in that group would die
// before the host had delivered the closing event to it; in its own group
// only the host decides when it stops. The parent-death signal still covers
// a host that dies without stopping it (killed with SIGKILL runs no cleanup).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
