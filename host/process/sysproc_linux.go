package process

import "syscall"

// sysProcAttr asks the kernel to SIGTERM the plugin when the thread that
// started it dies, i.e. when the host dies (see starter); this covers a host
// killed with SIGKILL, which runs no cleanup.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
