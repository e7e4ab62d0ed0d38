//go:build unix && !linux

package process

import (
	"log/slog"
	"os"
	"syscall"
)

// isolationOrder: outside Linux there are no PID namespaces here; the plugin
// gets a process group of its own, and the SDK's parent-PID watch makes an
// orphaned plugin exit.
func isolationOrder(isolation) []isolation { return []isolation{isolateGroup} }

func refused(isolation, error) bool { return false }

func fellBack(isolation, *slog.Logger, error) {}

// sysProcAttr starts the plugin in a process group of its own, so that a
// signal sent to the host's group (Ctrl-C in a terminal, a service manager's
// stop) reaches only the host, which stops its plugins after delivering the
// closing event. There is no parent-death signal outside Linux.
func sysProcAttr(isolation) *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func ownNamespace(isolation) bool { return false }

// killTree SIGKILLs the plugin's process group, then the process itself.
func killTree(proc *os.Process) {
	_ = syscall.Kill(-proc.Pid, syscall.SIGKILL)
	_ = proc.Kill()
}
