package process

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

// instance is one plugin process, from handshake to kill. A restart makes a
// new instance; nothing of an old one is reused.
type instance struct {
	client   *goplugin.Client
	runner   runnerSlot
	rpc      pluginv1.PluginClient
	health   grpc_health_v1.HealthClient
	exited   <-chan struct{} // closed when go-plugin sees the process end
	manifest pluginapi.Manifest
	brokerID uint32
	// settingsConns counts connections to this process's Settings server.
	settingsConns atomic.Int64
	started       time.Time
	serving       sync.WaitGroup // the brokered Settings server
	exe           *executable    // what the process runs; released by kill and stop
}

// dispensed is what go-plugin's Dispense returns on the host side.
type dispensed struct {
	done   <-chan struct{}
	broker *goplugin.GRPCBroker
	conn   *grpc.ClientConn
}

// hostSide is the host's half of the plugin definition in go-plugin's
// plugin set.
type hostSide struct {
	goplugin.NetRPCUnsupportedPlugin
}

func (hostSide) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error {
	return errors.New("process: the host does not serve plugins")
}

func (hostSide) GRPCClient(ctx context.Context, b *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &dispensed{done: ctx.Done(), broker: b, conn: c}, nil
}

// spawn starts, hand-shakes and initialises one plugin process, all within
// Config.StartTimeout: whatever the plugin does, spawn returns by then plus
// the time to kill its process tree and drain its output (outputDrain). On
// error nothing is left running.
func (p *Plugin) spawn(ctx context.Context) (*instance, error) {
	cfg := &p.cfg
	fail := func(err error) (*instance, error) {
		return nil, &StartError{Plugin: cfg.Name, Path: cfg.Path, Err: err}
	}
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.StartTimeout, errStartDeadline)
	defer cancel()
	exe, err := prepareBinary(cfg.Path, cfg.SHA256, p.socketDir)
	if err != nil {
		return fail(err)
	}
	inst := &instance{started: time.Now(), exe: exe}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  goplugin.HandshakeConfig{ProtocolVersion: pluginv1.ProtocolVersion, MagicCookieKey: pluginv1.MagicCookieKey, MagicCookieValue: pluginv1.MagicCookieValue},
		Plugins:          goplugin.PluginSet{pluginv1.PluginName: hostSide{}},
		RunnerFunc:       p.out.runnerFunc(runnerFunc(cfg, exe, p.starter, &inst.runner)),
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		StartTimeout:     cfg.StartTimeout,
		Logger:           p.hclog,
		SyncStdout:       p.out.syncStdout(),
		SyncStderr:       p.out.syncStderr(),
		UnixSocketConfig: &goplugin.UnixSocketConfig{TempDir: p.socketDir},
	})
	inst.client = client
	if err := p.handshake(ctx, inst); err != nil {
		inst.kill()
		return fail(err)
	}
	return inst, nil
}

// errStartDeadline is the cause of a start's context ending at
// Config.StartTimeout (rather than by the caller's ctx).
var errStartDeadline = errors.New("process: start timeout")

// startEnded returns the error for a start whose ctx ended during step.
func (p *Plugin) startEnded(ctx context.Context, step string, err error) error {
	if errors.Is(context.Cause(ctx), errStartDeadline) {
		if err != nil {
			return fmt.Errorf("%w: %s not done within %v: %v", ErrStartTimeout, step, p.cfg.StartTimeout, err)
		}
		return fmt.Errorf("%w: %s not done within %v", ErrStartTimeout, step, p.cfg.StartTimeout)
	}
	return fmt.Errorf("process: start abandoned during %s: %w", step, ctx.Err())
}

// handshake connects to a started client, serves the Settings service on a
// fresh broker id and calls Init.
func (p *Plugin) handshake(ctx context.Context, inst *instance) error {
	// go-plugin's start takes no context: wait for it beside ctx, and
	// abandon it by killing the process (or refusing to start it) when ctx
	// ends, which makes go-plugin give up at once.
	type started struct {
		proto goplugin.ClientProtocol
		err   error
	}
	ch := make(chan started, 1)
	go func() {
		proto, err := inst.client.Client()
		ch <- started{proto, err}
	}()
	var res started
	select {
	case res = <-ch:
	case <-ctx.Done():
		inst.runner.kill()
		<-ch
		return p.startEnded(ctx, "handshake", nil)
	}
	proto, err := res.proto, res.err
	if err != nil {
		return classifyStart(err)
	}
	handshook := time.Now()
	raw, err := proto.Dispense(pluginv1.PluginName)
	if err != nil {
		return fmt.Errorf("%w: dispense: %v", ErrNotPlugin, err)
	}
	d := raw.(*dispensed)
	inst.exited = d.done
	inst.rpc = pluginv1.NewPluginClient(d.conn)
	inst.health = grpc_health_v1.NewHealthClient(d.conn)

	// One broker connection per process: the plugin dials this id once in
	// Init and keeps the connection; serving ends when the client is killed
	// (go-plugin closes the broker).
	inst.brokerID = d.broker.NextId()
	srv := &settingsServer{p: p}
	inst.serving.Add(1)
	go func() {
		defer inst.serving.Done()
		d.broker.AcceptAndServe(inst.brokerID, func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.StatsHandler(connCounter{n: &inst.settingsConns}))
			s := grpc.NewServer(opts...)
			pluginv1.RegisterSettingsServer(s, srv)
			return s
		})
	}()

	resp, err := inst.rpc.Init(ctx, &pluginv1.InitRequest{
		SettingsBrokerId: inst.brokerID, ConfigJson: p.cfg.Config, Name: p.cfg.Name,
	})
	// Declarations made by Declare during Init join the manifest; Declare
	// is refused from here on.
	early := srv.endInit()
	if err != nil {
		// gRPC reports a passed deadline as soon as the clock shows it,
		// which on a loaded machine can be before ctx's own timer has
		// fired: wait for ctx then, so that the error says why.
		if d, ok := ctx.Deadline(); ctx.Err() != nil || (ok && !time.Now().Before(d)) {
			<-ctx.Done()
			return p.startEnded(ctx, "init", err)
		}
		return fmt.Errorf("%w: %v", ErrInit, err)
	}
	m, err := resp.ToManifest()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInit, err)
	}
	inst.manifest = withDeclared(m, early)
	p.log.Debug("plugin process ready", "pid", inst.pid(), "handshake", handshook.Sub(inst.started),
		"init", time.Since(handshook))
	return nil
}

// classifyStart maps go-plugin's start errors, which are plain strings, to
// our sentinels.
func classifyStart(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "incompatible API version"):
		return fmt.Errorf("%w: %v", ErrIncompatibleVersion, err)
	case strings.Contains(msg, "Unrecognized remote plugin message"),
		strings.Contains(msg, "plugin exited before we could connect"),
		strings.Contains(msg, "unsupported plugin protocol"):
		return fmt.Errorf("%w: %v", ErrNotPlugin, err)
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return fmt.Errorf("%w: %v", ErrStartTimeout, err)
	}
	return err
}

// pid is the process id, or 0 before the start.
func (inst *instance) pid() int {
	r := inst.runner.get()
	if r == nil {
		return 0
	}
	return int(r.pid.Load())
}

// kill ends the process at once (SIGKILL) and releases go-plugin's
// goroutines, connections and socket directory. Safe to call more than once.
func (inst *instance) kill() {
	inst.runner.kill()
	inst.client.Kill()
	inst.serving.Wait()
	inst.exe.release()
}

// stop asks the plugin to exit (go-plugin's graceful shutdown), and kills it
// when ctx ends first.
func (inst *instance) stop(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		inst.client.Kill()
	}()
	select {
	case <-done:
	case <-ctx.Done():
		inst.runner.kill()
		<-done
	}
	inst.serving.Wait()
	inst.exe.release()
}
