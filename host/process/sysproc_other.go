//go:build !linux

package process

import "syscall"

// sysProcAttr: outside Linux there is no parent-death signal; the SDK's
// parent-PID watch makes an orphaned plugin exit instead.
func sysProcAttr() *syscall.SysProcAttr { return nil }
