package plugin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

// grpcPlugin registers the plugin's gRPC service with go-plugin. Only the
// server half exists here; the host has its own client.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	impl   Plugin
	logger *slog.Logger
}

func (g *grpcPlugin) GRPCServer(broker *goplugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterPluginServer(s, &server{
		impl: g.impl, broker: broker, logger: g.logger, turn: make(chan struct{}, 1),
	})
	return nil
}

func (g *grpcPlugin) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, fmt.Errorf("plugin: the SDK serves plugins; it has no client")
}

// server adapts a [Plugin] to the Plugin gRPC service.
type server struct {
	pluginv1.UnimplementedPluginServer
	impl   Plugin
	broker *goplugin.GRPCBroker
	logger *slog.Logger
	// turn holds one token: handlers run one at a time, and a call waits for
	// the previous (possibly overrunning) one only until its own deadline.
	turn chan struct{}

	mu   sync.Mutex
	conn *grpc.ClientConn // to the host's Settings service, dialled once
}

func (s *server) Init(ctx context.Context, req *pluginv1.InitRequest) (*pluginv1.InitResponse, error) {
	s.mu.Lock()
	if s.conn != nil {
		s.mu.Unlock()
		return nil, status.Error(codes.FailedPrecondition, "plugin: already initialised; the host starts a new process to initialise again")
	}
	conn, err := s.broker.Dial(req.GetSettingsBrokerId())
	if err != nil {
		s.mu.Unlock()
		return nil, status.Errorf(codes.Unavailable, "plugin: dial host settings service (broker id %d): %v", req.GetSettingsBrokerId(), err)
	}
	s.conn = conn
	s.mu.Unlock()
	// go-plugin's Dial returns before the connection exists; waiting for it
	// here moves the dial and the mutual-TLS handshake (about 10 ms on a
	// small VM) from the plugin's first lookup into Init.
	if err := waitReady(ctx, conn); err != nil {
		return nil, status.Errorf(codes.Unavailable, "plugin: connect to host settings service (broker id %d): %v", req.GetSettingsBrokerId(), err)
	}

	var cfg []byte
	if len(req.GetConfigJson()) > 0 {
		cfg = req.GetConfigJson()
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.release()
	client := pluginv1.NewSettingsClient(conn)
	decl := &initDeclarer{client: client}
	m, err := s.impl.Init(ctx, InitRequest{
		Name: req.GetName(), Config: cfg, Settings: NewSettings(client),
		Logger: s.logger, declarer: decl,
	})
	m = decl.end(m)
	if err != nil {
		return nil, status.Errorf(codes.Unknown, "init: %v", err)
	}
	resp, err := pluginv1.FromManifest(m)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return resp, nil
}

func (s *server) Deliver(ctx context.Context, req *pluginv1.Delivery) (*pluginv1.DeliverResponse, error) {
	d, err := req.ToDelivery()
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.release()
	info := Delivery{Seq: d.Seq, Dropped: d.Dropped, Unreadable: d.Unreadable}
	switch e := d.Event.(type) {
	case *event.Declared:
		err = s.impl.OnDeclared(ctx, info, e)
	case *event.UpdateOK:
		err = s.impl.OnUpdateOK(ctx, info, e)
	case *event.UpdateError:
		err = s.impl.OnUpdateError(ctx, info, e)
	case *event.SettingChanged:
		err = s.impl.OnSettingChanged(ctx, info, e)
	case *event.Closing:
		err = s.impl.OnClosing(ctx, info, e)
	}
	if err != nil {
		// Unknown tells the host "the handler failed", as opposed to the
		// transport codes a crash or a timeout produce.
		return nil, status.Error(codes.Unknown, err.Error())
	}
	return &pluginv1.DeliverResponse{}, nil
}

// waitReady connects conn and waits until it is ready for calls, as long as
// ctx allows.
func waitReady(ctx context.Context, conn *grpc.ClientConn) error {
	conn.Connect()
	for {
		st := conn.GetState()
		switch st {
		case connectivity.Ready:
			return nil
		case connectivity.Shutdown:
			return errors.New("connection closed")
		}
		if !conn.WaitForStateChange(ctx, st) {
			return fmt.Errorf("still %v: %w", st, ctx.Err())
		}
	}
}

func (s *server) acquire(ctx context.Context) error {
	select {
	case s.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

func (s *server) release() { <-s.turn }
