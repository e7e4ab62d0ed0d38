// Command nowatch is a minimal plugin written on go-plugin directly, without
// the SDK and so without its parent watch: only the host's parent-death
// signal can stop it when the host dies. Built by `make process-plugins`.
package main

import (
	"context"
	"errors"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

type server struct {
	pluginv1.UnimplementedPluginServer
}

func (server) Init(context.Context, *pluginv1.InitRequest) (*pluginv1.InitResponse, error) {
	return &pluginv1.InitResponse{}, nil
}

func (server) Deliver(context.Context, *pluginv1.Delivery) (*pluginv1.DeliverResponse, error) {
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
	return nil, errors.New("nowatch: server only")
}

func main() {
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
