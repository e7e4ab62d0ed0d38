package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/heksher-go/heksher/pluginapi"
)

// stopTimeout bounds the graceful stop of a plugin at Close before it is
// killed.
const stopTimeout = 2 * time.Second

// supervise owns the plugin's processes from the first start until Close:
// it watches the serving instance, and after a crash, a failed health check
// or too many timeouts it kills the process tree and starts a new one with
// backoff, initialising it again before deliveries resume. It gives the
// plugin up (failed) after Config.MaxRestarts restarts in a row, and serves
// Restart's requests in every state.
func (p *Plugin) supervise(inst *instance) {
	defer close(p.done)
	defer p.shutdown()
	health := time.NewTicker(p.cfg.HealthInterval)
	defer health.Stop()
	for {
		req, err := p.watch(inst, health.C)
		switch {
		// Once Close has begun a broken process is not restarted: it is
		// stopped like a healthy one (stopping a dead process is quick).
		case isClosed(p.closing):
			p.stopInstance(inst)
			req.answer(p.closedErr())
			return
		case req != nil:
			// A requested restart: the process is stopped as at Close,
			// and its failures are forgotten.
			p.markRestarting(inst, nil)
			p.stopInstance(inst)
			p.log.Info("plugin process stopped for a requested restart", "pid", inst.pid())
		default:
			p.report(inst, err) // no-op when Deliver already reported it
			inst.kill()
			p.mu.Lock()
			if time.Since(inst.started) >= StableRun {
				p.inARow = 0 // it had been running well: a first failure
			}
			p.mu.Unlock()
			p.log.Warn("plugin process failed; restarting", "error", err, "pid", inst.pid())
		}
		if inst = p.restart(req); inst == nil {
			return // closing
		}
	}
}

// stopInstance asks inst to exit and kills its tree after stopTimeout.
func (p *Plugin) stopInstance(inst *instance) {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	inst.stop(ctx)
}

// watch blocks until inst breaks (returning why), Restart asks for a new
// process (returning the request), or the plugin is closing (returning
// neither).
func (p *Plugin) watch(inst *instance, tick <-chan time.Time) (*restartRequest, error) {
	for {
		select {
		case <-p.closing:
			return nil, nil
		case req := <-p.restartReqs:
			return req, nil
		case <-inst.exited:
			return nil, fmt.Errorf("%w: plugin %q: process %d exited", ErrCrashed, p.cfg.Name, inst.pid())
		case f := <-p.failures:
			if f.inst == inst {
				return nil, f.err
			}
		case <-tick:
			if err := p.check(inst); err != nil {
				return nil, err
			}
		}
	}
}

// check runs one gRPC health check with the call deadline.
func (p *Plugin) check(inst *instance) error {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.Deadline)
	defer cancel()
	resp, err := inst.health.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: "plugin"})
	if err != nil {
		return fmt.Errorf("process: plugin %q failed its health check: %w", p.cfg.Name, err)
	}
	if resp.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		return fmt.Errorf("process: plugin %q reports health %v", p.cfg.Name, resp.GetStatus())
	}
	return nil
}

// restart starts a new instance: at once for a Restart request (req, which
// it answers; the failures in a row are forgotten), otherwise after the
// backoff for the next restart in a row. It tries again until one starts
// (returning it) or the plugin is closing (nil). Once Config.MaxRestarts
// restarts in a row have failed, the plugin is failed and nothing is
// started until a Restart request. Closing is checked before every step
// that would start a process, since a select with both a timer and closing
// ready may pick either.
func (p *Plugin) restart(req *restartRequest) *instance {
	for {
		if isClosed(p.closing) {
			req.answer(p.closedErr())
			return nil
		}
		var n int
		var wait time.Duration
		if req != nil {
			p.mu.Lock()
			p.inARow = 0
			p.mu.Unlock()
		} else {
			p.mu.Lock()
			p.inARow++
			n = p.inARow
			p.mu.Unlock()
			if n > p.cfg.MaxRestarts {
				p.giveUp()
				select {
				case <-p.closing:
					return nil
				case req = <-p.restartReqs:
					p.markRestarting(nil, nil)
					continue
				}
			}
			wait = p.cfg.Backoff.Delay(n)
			timer := time.NewTimer(wait)
			select {
			case <-p.closing:
				timer.Stop()
				return nil
			case req = <-p.restartReqs:
				timer.Stop()
				continue
			case <-timer.C:
			}
			if isClosed(p.closing) {
				return nil
			}
		}
		inst, err := p.spawnUnlessClosing(req.context())
		p.mu.Lock()
		p.restarts++
		p.mu.Unlock()
		if err != nil {
			p.mu.Lock()
			p.setErrLocked(err)
			p.mu.Unlock()
			p.log.Warn("plugin restart failed", "error", err, "attempt", n, "backoff", wait)
			req.answer(err) // the restarts in a row go on from here
			req = nil
			continue
		}
		if isClosed(p.closing) {
			inst.kill()
			req.answer(p.closedErr())
			return nil
		}
		old := p.Manifest()
		p.setRunning(inst)
		if !sameManifest(old, inst.manifest) {
			p.log.Warn("plugin manifest changed after restart; the host declared the previous one")
		}
		p.log.Info("plugin restarted", "pid", inst.pid(), "attempt", n, "backoff", wait, "took", time.Since(inst.started),
			"requested", req != nil)
		req.answer(nil)
		return inst
	}
}

func (p *Plugin) giveUp() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state = pluginapi.StateFailed
	p.log.Error("plugin failed too often; giving up until it is restarted", "restarts_in_a_row", p.cfg.MaxRestarts,
		"last_error", p.lastErr)
	close(p.ready)
}

// markRestarting makes the plugin restarting: deliveries wait from now on.
// inst, when not nil, is the serving instance being replaced; err, when not
// nil, is kept as the last error.
func (p *Plugin) markRestarting(inst *instance, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.setErrLocked(err)
	}
	switch {
	case p.state == pluginapi.StateRunning && (inst == nil || p.inst == inst):
		p.inst = nil
		p.ready = make(chan struct{})
	case p.state == pluginapi.StateFailed:
		p.ready = make(chan struct{})
	default:
		return // already restarting
	}
	p.state = pluginapi.StateRestarting
}

func (p *Plugin) closedErr() error { return fmt.Errorf("%w: plugin %q", ErrClosed, p.cfg.Name) }

// restartRequest is one Restart call waiting for the supervisor.
type restartRequest struct {
	ctx   context.Context
	reply chan error // buffered 1
}

// answer replies to the request; a nil request is no request.
func (r *restartRequest) answer(err error) {
	if r != nil {
		r.reply <- err
	}
}

// context bounds the start made for the request.
func (r *restartRequest) context() context.Context {
	if r == nil {
		return context.Background()
	}
	return r.ctx
}

// Restart replaces the plugin's process with a fresh one, initialised again
// with its configuration, and forgets its restarts in a row: it brings a
// failed plugin back, and restarts a running or restarting one. It waits
// for a delivery in progress to end (at most until ctx ends), stops the
// process as Close does, and starts the new one at once, bounded by
// Config.StartTimeout and ctx. It implements pluginapi.Restarter and may be
// called from any goroutine.
//
// A start that fails leaves the plugin restarting under its restart policy
// (as after a crash: backoff, then failed after Config.MaxRestarts
// restarts in a row), and its error is returned.
//
// # Errors
//
// [ErrClosed] once Close has begun; the [*StartError] of the failed start;
// ctx's error (wrapped) when it ended first.
func (p *Plugin) Restart(ctx context.Context) error {
	if isClosed(p.closing) {
		return p.closedErr()
	}
	ended := func(what string) error {
		return fmt.Errorf("process: restart plugin %q: %s: %w", p.cfg.Name, what, ctx.Err())
	}
	select {
	case p.calling <- struct{}{}:
	case <-ctx.Done():
		return ended("waiting for the delivery in progress")
	case <-p.closing:
		return p.closedErr()
	}
	defer func() { <-p.calling }()
	req := &restartRequest{ctx: ctx, reply: make(chan error, 1)}
	select {
	case p.restartReqs <- req:
	case <-ctx.Done():
		return ended("waiting for the supervisor")
	case <-p.done:
		return p.closedErr()
	}
	return <-req.reply // the supervisor answers every request it takes
}

// shutdown runs when the supervisor ends: the plugin is stopped for good.
func (p *Plugin) shutdown() {
	p.starter.stop()
	if err := os.RemoveAll(p.socketDir); err != nil && !errors.Is(err, os.ErrNotExist) {
		p.log.Warn("removing socket directory", "error", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == pluginapi.StateStarting || p.state == pluginapi.StateRestarting {
		close(p.ready)
	}
	p.state = pluginapi.StateStopped
	p.inst = nil
}

// spawnUnlessClosing spawns an instance whose start is cut short by Close
// (or by parent ending).
func (p *Plugin) spawnUnlessClosing(parent context.Context) (*instance, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	go func() {
		select {
		case <-p.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	return p.spawn(ctx)
}

func sameManifest(a, b pluginapi.Manifest) bool {
	if a.Subscriptions != b.Subscriptions || len(a.Declarations) != len(b.Declarations) {
		return false
	}
	for i := range a.Declarations {
		if a.Declarations[i].Name != b.Declarations[i].Name || a.Declarations[i].Type != b.Declarations[i].Type ||
			string(a.Declarations[i].Default) != string(b.Declarations[i].Default) {
			return false
		}
	}
	return true
}
