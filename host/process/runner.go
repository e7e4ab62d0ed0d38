package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

// procRunner is go-plugin's view of one plugin process. We own it (through
// ClientConfig.RunnerFunc) rather than using go-plugin's command runner for
// three reasons: the fork must happen on the starter's thread (Pdeathsig),
// go-plugin only creates a private socket directory for custom runners, and
// the supervisor needs the process to kill a hung plugin at once.
type procRunner struct {
	cmd    *exec.Cmd
	name   string
	start  *starter
	slot   *runnerSlot
	stdout io.ReadCloser
	stderr io.ReadCloser
	pid    atomic.Int64
}

// runnerSlot passes the runner go-plugin creates while it starts a plugin
// to the goroutines that may have to kill it, and lets them abandon a start
// at any point: once killed, a runner created or started later refuses to
// start its process. go-plugin's own Kill cannot do this, since it waits
// for the start to finish.
type runnerSlot struct {
	mu     sync.Mutex
	r      *procRunner
	killed bool
}

// get returns the runner, or nil before go-plugin created it.
func (s *runnerSlot) get() *procRunner {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r
}

// kill kills the process if it was started, and stops it from being
// started otherwise.
func (s *runnerSlot) kill() {
	s.mu.Lock()
	s.killed = true
	r := s.r
	s.mu.Unlock()
	if r != nil {
		_ = r.Kill(context.Background())
	}
}

// errAbandoned is what a runner's Start returns once its slot was killed.
var errAbandoned = errors.New("process: start abandoned")

var _ runner.Runner = (*procRunner)(nil)

// runnerFunc returns the RunnerFunc for one start of cfg's binary.
func runnerFunc(cfg *Config, st *starter, slot *runnerSlot) func(hclog.Logger, *exec.Cmd, string) (runner.Runner, error) {
	return func(_ hclog.Logger, cmd *exec.Cmd, _ string) (runner.Runner, error) {
		// go-plugin hands over a command with only the environment filled
		// in (handshake cookie, mTLS certificate, socket directory).
		cmd.Path = cfg.Path
		cmd.Args = append([]string{cfg.Path}, cfg.Args...)
		cmd.Env = append(cmd.Env, cfg.Env...)
		cmd.Env = append(cmd.Env, pluginv1.HostPIDKey+"="+strconv.Itoa(os.Getpid()))
		cmd.SysProcAttr = sysProcAttr()
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			return nil, err
		}
		r := &procRunner{cmd: cmd, name: cfg.Name, start: st, slot: slot, stdout: stdout, stderr: stderr}
		slot.mu.Lock()
		slot.r = r
		slot.mu.Unlock()
		return r, nil
	}
}

func (r *procRunner) Start(context.Context) error {
	r.slot.mu.Lock()
	defer r.slot.mu.Unlock()
	if r.slot.killed {
		return errAbandoned
	}
	var err error
	r.start.do(func() { err = r.cmd.Start() })
	if err != nil {
		return err
	}
	r.pid.Store(int64(r.cmd.Process.Pid))
	return nil
}

func (r *procRunner) Wait(context.Context) error { return r.cmd.Wait() }

// Kill sends SIGKILL; calling it again, or after the process ended, is fine.
func (r *procRunner) Kill(context.Context) error {
	r.slot.mu.Lock()
	proc := r.cmd.Process // written by Start under the same lock
	r.slot.mu.Unlock()
	if proc == nil {
		return nil
	}
	if err := proc.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

func (r *procRunner) Stdout() io.ReadCloser { return r.stdout }
func (r *procRunner) Stderr() io.ReadCloser { return r.stderr }

// Name is the plugin's configured name; go-plugin names the logger of the
// plugin's own log lines after it.
func (r *procRunner) Name() string { return r.name }

func (r *procRunner) ID() string { return fmt.Sprint(r.pid.Load()) }

// Diagnose adds nothing: go-plugin would append it on a new line, and
// classifyStart already names the failure (ErrNotPlugin).
func (r *procRunner) Diagnose(context.Context) string { return "" }

func (r *procRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (r *procRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}
