//go:build !unix

package process

import (
	"log/slog"
	"os"
	"syscall"
)

// isolationOrder: without process groups or a parent-death signal, the SDK's
// parent-PID watch is what makes an orphaned plugin exit.
func isolationOrder(isolation) []isolation { return []isolation{isolateGroup} }

func refused(isolation, error) bool { return false }

func fellBack(isolation, *slog.Logger, error) {}

func sysProcAttr(isolation) *syscall.SysProcAttr { return nil }

func ownNamespace(isolation) bool { return false }

func killTree(proc *os.Process) { _ = proc.Kill() }
