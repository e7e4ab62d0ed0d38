package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/heksher-go/heksher/host/hostapi"
)

// stopTimeout bounds the graceful stop of a plugin at Close before it is
// killed.
const stopTimeout = 2 * time.Second

// supervise owns the plugin's processes from the first start until Close:
// it watches the serving instance, and after a crash, a failed health check
// or too many timeouts it kills the process and starts a new one with
// backoff, initialising it again before deliveries resume.
func (p *Plugin) supervise(inst *instance) {
	defer close(p.done)
	defer p.shutdown()
	health := time.NewTicker(p.cfg.HealthInterval)
	defer health.Stop()
	for {
		err := p.watch(inst, health.C)
		// Once Close has begun a broken process is not restarted: it is
		// stopped like a healthy one (stopping a dead process is quick).
		if err == nil || isClosed(p.closing) {
			ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
			inst.stop(ctx)
			cancel()
			return
		}
		p.report(inst, err) // no-op when Deliver already reported it
		inst.kill()
		p.log.Warn("plugin process failed; restarting", "error", err, "pid", inst.pid())
		if inst = p.restart(); inst == nil {
			<-p.closing // a failed plugin shows as failed until it is closed
			return
		}
	}
}

// watch blocks until inst breaks (returning why) or the plugin is closing
// (returning nil).
func (p *Plugin) watch(inst *instance, tick <-chan time.Time) error {
	for {
		select {
		case <-p.closing:
			return nil
		case <-inst.exited:
			return fmt.Errorf("%w: plugin %q: process %d exited", ErrCrashed, p.cfg.Name, inst.pid())
		case f := <-p.failures:
			if f.inst == inst {
				return f.err
			}
		case <-tick:
			if err := p.check(inst); err != nil {
				return err
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

// restart waits out the backoff and starts a new instance, trying again
// until one starts, the restart budget is spent (nil, StateFailed) or the
// plugin is closing (nil). Closing is checked before every step that would
// start a process, since a select with both the backoff timer and closing
// ready may pick either.
func (p *Plugin) restart() *instance {
	for {
		if isClosed(p.closing) {
			return nil
		}
		p.mu.Lock()
		p.inARow++
		n := p.inARow
		p.mu.Unlock()
		if n > p.cfg.MaxRestarts {
			p.giveUp()
			return nil
		}
		wait := p.cfg.Backoff.delay(n)
		select {
		case <-p.closing:
			return nil
		case <-time.After(wait):
		}
		if isClosed(p.closing) {
			return nil
		}
		inst, err := p.spawnUnlessClosing()
		p.mu.Lock()
		p.restarts++
		p.mu.Unlock()
		if err != nil {
			p.mu.Lock()
			p.setErrLocked(err)
			p.mu.Unlock()
			p.log.Warn("plugin restart failed", "error", err, "attempt", n, "backoff", wait)
			continue
		}
		select {
		case <-p.closing:
			inst.kill()
			return nil
		default:
		}
		old := p.Manifest()
		p.setRunning(inst)
		if !sameManifest(old, inst.manifest) {
			p.log.Warn("plugin manifest changed after restart; the host declared the previous one")
		}
		p.log.Info("plugin restarted", "pid", inst.pid(), "attempt", n, "backoff", wait, "took", time.Since(inst.started))
		return inst
	}
}

func (p *Plugin) giveUp() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state = hostapi.StateFailed
	p.log.Error("plugin failed too often; giving up", "restarts_in_a_row", p.cfg.MaxRestarts, "last_error", p.lastErr)
	close(p.ready)
}

// shutdown runs when the supervisor ends: the plugin is stopped for good.
func (p *Plugin) shutdown() {
	p.starter.stop()
	if err := os.RemoveAll(p.socketDir); err != nil && !errors.Is(err, os.ErrNotExist) {
		p.log.Warn("removing socket directory", "error", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == hostapi.StateStarting || p.state == hostapi.StateRestarting {
		close(p.ready)
	}
	p.state = hostapi.StateStopped
	p.inst = nil
}

// spawnUnlessClosing spawns an instance whose Init is cut short by Close.
func (p *Plugin) spawnUnlessClosing() (*instance, error) {
	ctx, cancel := context.WithCancel(context.Background())
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

func sameManifest(a, b hostapi.Manifest) bool {
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
