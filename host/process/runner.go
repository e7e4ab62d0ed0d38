package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

// outputDrain is how long the plugin's stdout and stderr are still read
// after the plugin process has ended. go-plugin waits for both pipes to
// reach end of file before it takes note that a process ended (and before
// its Kill returns), and any process still holding them (a descendant that
// escaped the kill) would make it wait forever; after outputDrain the pipes
// read as ended whoever holds them.
const outputDrain = time.Second

// procRunner is go-plugin's view of one plugin process. We own it (through
// ClientConfig.RunnerFunc) rather than using go-plugin's command runner
// because the fork must happen on the starter's thread (parent-death
// signal), in a PID namespace of its own (see isolation), from a verified
// copy of the binary; because go-plugin only creates a private socket
// directory for custom runners; because the supervisor needs the process to
// kill a hung plugin at once; and because the output pipes must not outlive
// the process (see outputDrain).
type procRunner struct {
	name   string
	exe    *executable
	argv   []string
	env    []string
	forced isolation
	start  *starter
	slot   *runnerSlot
	log    *slog.Logger
	stdout *outputPipe
	stderr *outputPipe
	pid    atomic.Int64

	// Written by Start under slot.mu.
	proc *os.Process
	mode isolation

	exited  chan struct{} // closed once the process has been reaped
	waitErr error         // written before exited is closed
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

// isolation returns how the started process is isolated (isolateAuto before
// the start).
func (s *runnerSlot) isolation() isolation {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.r == nil {
		return isolateAuto
	}
	return s.r.mode
}

// kill kills the process tree if it was started, and stops it from being
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

// runnerFunc returns the RunnerFunc for one start of cfg's binary, which
// executes exe (the binary or its verified copy).
func runnerFunc(cfg *Config, exe *executable, st *starter, slot *runnerSlot) func(hclog.Logger, *exec.Cmd, string) (runner.Runner, error) {
	return func(_ hclog.Logger, cmd *exec.Cmd, _ string) (runner.Runner, error) {
		// go-plugin hands over a command with only the environment filled
		// in (handshake cookie, mTLS certificate, socket directory). Its
		// Stdin (the host's) is not passed on: a plugin reads nothing from
		// the host's terminal.
		env := append(append([]string(nil), cmd.Env...), cfg.Env...)
		r := &procRunner{
			name: cfg.Name, exe: exe, argv: append([]string{cfg.Path}, cfg.Args...), env: env,
			forced: cfg.isolation, start: st, slot: slot, log: cfg.Logger, exited: make(chan struct{}),
		}
		slot.mu.Lock()
		slot.r = r
		slot.mu.Unlock()
		return r, nil
	}
}

// maxBusyRetries bounds the retries of an exec that failed with ETXTBSY: a
// process forked by another goroutine at the wrong moment can hold the
// verified copy's writable descriptor for the instant before its own exec.
const maxBusyRetries = 10

func (r *procRunner) Start(ctx context.Context) error {
	r.slot.mu.Lock()
	defer r.slot.mu.Unlock()
	if r.slot.killed {
		return errAbandoned
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("process: stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		_ = outR.Close()
		_ = outW.Close()
		return fmt.Errorf("process: stderr pipe: %w", err)
	}
	// The parent's write ends are closed once the child has its own, so
	// that the pipes end with the plugin's processes.
	defer func() { _ = outW.Close(); _ = errW.Close() }()
	var cmd *exec.Cmd
	var refusedBy error
	for _, mode := range isolationOrder(r.forced) {
		for try := 0; ; try++ {
			cmd = r.command(mode, outW, errW)
			r.start.do(func() { err = cmd.Start() })
			if !errors.Is(err, syscall.ETXTBSY) || try == maxBusyRetries || ctx.Err() != nil {
				break
			}
			time.Sleep(time.Duration(try+1) * 5 * time.Millisecond)
		}
		if err == nil {
			if refusedBy != nil {
				fellBack(mode, r.log, refusedBy)
			}
			r.mode = mode
			break
		}
		if !refused(mode, err) {
			break
		}
		refusedBy = err
	}
	if err != nil {
		_ = outR.Close()
		_ = errR.Close()
		r.exe.release()
		return err
	}
	r.proc = cmd.Process
	r.pid.Store(int64(cmd.Process.Pid))
	r.stdout, r.stderr = &outputPipe{f: outR}, &outputPipe{f: errR}
	go r.reap(cmd)
	return nil
}

// command builds the command for one attempt to start the process.
func (r *procRunner) command(mode isolation, stdout, stderr *os.File) *exec.Cmd {
	env := r.env
	if !ownNamespace(mode) {
		// The SDK's parent watch. In a PID namespace of its own the plugin
		// cannot see the host's pid (its parent is pid 0 there), and the
		// kernel ends it with the host anyway.
		env = append(env[:len(env):len(env)], pluginv1.HostPIDKey+"="+strconv.Itoa(os.Getpid()))
	}
	cmd := &exec.Cmd{
		Path: r.exe.path, Args: r.argv, Env: env, Stdout: stdout, Stderr: stderr,
		SysProcAttr: sysProcAttr(mode),
	}
	if r.exe.extra != nil {
		cmd.ExtraFiles = []*os.File{r.exe.extra}
	}
	return cmd
}

// reap waits for the process, then ends what is left of its tree and
// bounds how long its output is still read.
func (r *procRunner) reap(cmd *exec.Cmd) {
	err := cmd.Wait()
	killTree(cmd.Process)
	r.exe.release()
	r.stdout.expire(outputDrain)
	r.stderr.expire(outputDrain)
	r.waitErr = err
	close(r.exited)
}

// Wait waits for the process to end. go-plugin calls it once both output
// pipes have ended, so they are closed here.
func (r *procRunner) Wait(ctx context.Context) error {
	select {
	case <-r.exited:
	case <-ctx.Done():
		return ctx.Err()
	}
	_ = r.stdout.f.Close()
	_ = r.stderr.f.Close()
	return r.waitErr
}

// Kill SIGKILLs the process and its tree; calling it again, or after the
// process ended, is fine.
func (r *procRunner) Kill(context.Context) error {
	r.slot.mu.Lock()
	proc := r.proc // written by Start under the same lock
	r.slot.mu.Unlock()
	if proc == nil {
		return nil
	}
	select {
	case <-r.exited: // reap has killed what was left
	default:
		killTree(proc)
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

// outputPipe is the read end of the plugin's stdout or stderr. Once the
// plugin process has ended, reads end (as at end of file) after a drain
// period even if an escaped descendant still holds the write end.
type outputPipe struct {
	f *os.File
}

func (o *outputPipe) Read(b []byte) (int, error) {
	n, err := o.f.Read(b)
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, os.ErrClosed) {
		err = io.EOF
	}
	return n, err
}

// Close is a no-op: the runner closes the pipe once go-plugin is done.
func (o *outputPipe) Close() error { return nil }

// expire makes reads end d from now.
func (o *outputPipe) expire(d time.Duration) { _ = o.f.SetReadDeadline(time.Now().Add(d)) }
