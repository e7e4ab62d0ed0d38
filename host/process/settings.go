package process

import (
	"context"

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
