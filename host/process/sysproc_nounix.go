//go:build !unix

package process

import "syscall"

// sysProcAttr: without process groups or a parent-death signal, the SDK's
// parent-PID watch is what makes an orphaned plugin exit.
func sysProcAttr() *syscall.SysProcAttr { return nil }
