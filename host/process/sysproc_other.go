//go:build unix && !linux

package process

import "syscall"

// sysProcAttr starts the plugin in a process group of its own, so that a
// signal sent to the host's group (Ctrl-C in a terminal, a service manager's
// stop) reaches only the host, which stops its plugins after delivering the
// closing event. There is no parent-death signal outside Linux; the SDK's
// parent-PID watch makes an orphaned plugin exit instead.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
