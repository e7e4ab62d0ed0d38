package process

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc/stats"

	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

// settingsServer serves the plugin's lookups from the host's Settings.
type settingsServer struct {
	pluginv1.UnimplementedSettingsServer
	p *Plugin
}

func (s *settingsServer) Lookup(ctx context.Context, req *pluginv1.LookupRequest) (*pluginv1.LookupResponse, error) {
	s.p.lookups.Add(1)
	v, err := s.p.settings.Lookup(ctx, s.p.cfg.Name, req.GetSetting(), pluginv1.ToFeatures(req.GetFeatures()))
	if err != nil {
		return nil, pluginv1.LookupStatus(err)
	}
	return pluginv1.FromValue(v), nil
}

// connCounter counts the connections a process opens to its Settings
// server. The SDK opens exactly one, in Init; Status shows the count so that
// a plugin that reconnects for its lookups can be seen.
type connCounter struct {
	n *atomic.Int64
}

var _ stats.Handler = connCounter{}

func (c connCounter) HandleConn(_ context.Context, s stats.ConnStats) {
	if _, ok := s.(*stats.ConnBegin); ok {
		c.n.Add(1)
	}
}

func (connCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (connCounter) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (connCounter) HandleRPC(context.Context, stats.RPCStats)                         {}
