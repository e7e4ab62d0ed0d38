// Command forker is a hostile process plugin written on go-plugin directly,
// without the SDK (so without its parent watch). It ignores SIGTERM and, in
// Init, starts a process tree that ignores SIGTERM too: a shell running
// `sleep` in the background, one `sleep` in a session of its own (setsid),
// and itself replaced by another `sleep`. Every descendant carries
// HEKSHER_TREE_MARK=<config "mark"> in its environment so that a test can
// find them all. A SettingChanged event for "cmd.exit" makes it exit (its
// tree left behind), "cmd.crash" makes it panic.
// Built by `make process-plugins`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

// tree is the descendants' script: three sleeps, one of them in a session
// of its own, none of them stopped by SIGTERM.
const tree = `trap '' TERM
/bin/sleep 600 &
setsid /bin/sleep 601 &
exec /bin/sleep 602`

type server struct {
	pluginv1.UnimplementedPluginServer
}

func (server) Init(_ context.Context, req *pluginv1.InitRequest) (*pluginv1.InitResponse, error) {
	var cfg struct {
		Mark string `json:"mark"`
	}
	if err := json.Unmarshal(req.GetConfigJson(), &cfg); err != nil || cfg.Mark == "" {
		return nil, errors.New("forker: config needs a mark")
	}
	cmd := exec.Command("/bin/sh", "-c", tree)
	cmd.Env = append(os.Environ(), "HEKSHER_TREE_MARK="+cfg.Mark)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait() }()
	return &pluginv1.InitResponse{}, nil
}

func (server) Deliver(_ context.Context, d *pluginv1.Delivery) (*pluginv1.DeliverResponse, error) {
	switch d.GetSettingChanged().GetSetting() {
	case "cmd.exit":
		os.Exit(3)
	case "cmd.crash":
		panic("forker: crash requested")
	}
	return &pluginv1.DeliverResponse{}, nil
}

type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
}

func (grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterPluginServer(s, server{})
	return nil
}

func (grpcPlugin) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("forker: server only")
}

func main() {
	signal.Ignore(syscall.SIGTERM)
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: goplugin.HandshakeConfig{
			ProtocolVersion:  pluginv1.ProtocolVersion,
			MagicCookieKey:   pluginv1.MagicCookieKey,
			MagicCookieValue: pluginv1.MagicCookieValue,
		},
		Plugins:    goplugin.PluginSet{pluginv1.PluginName: grpcPlugin{}},
		GRPCServer: goplugin.DefaultGRPCServer,
	})
}
