// Command webhook-alerter is a heksher-host process plugin that POSTs a JSON
// alert to a URL when the host's updates from Heksher keep failing (after N
// consecutive failures, or once the values are older than T), and an
// all-clear when they succeed again; optionally also each change of the
// settings it watches, never the start-up values. See README.md.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/version"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/plugin"
)

type webhookPlugin struct {
	plugin.Base
	a   *alerter
	log *slog.Logger
}

func (p *webhookPlugin) Init(_ context.Context, req plugin.InitRequest) (pluginapi.Manifest, error) {
	a, err := newAlerter(req.Config)
	if err != nil {
		return pluginapi.Manifest{}, err
	}
	p.a, p.log = a, req.Logger
	m := pluginapi.Manifest{Subscriptions: event.SetOf(event.KindUpdateOK, event.KindUpdateError)}
	if len(a.watch) > 0 {
		m.Subscriptions |= event.SetOf(event.KindSettingChanged)
		m.Settings = a.watch
	}
	return m, nil
}

func (p *webhookPlugin) OnSettingChanged(ctx context.Context, _ plugin.Delivery, e *event.SettingChanged) error {
	return p.a.onChanged(ctx, e)
}

func (p *webhookPlugin) OnUpdateError(ctx context.Context, _ plugin.Delivery, e *event.UpdateError) error {
	was := p.a.alerted
	err := p.a.onError(ctx, e)
	if !was && p.a.alerted {
		p.log.Warn("alert raised", "consecutive_failures", e.ConsecutiveFailures, "err", e.Err)
	}
	return err
}

func (p *webhookPlugin) OnUpdateOK(ctx context.Context, _ plugin.Delivery, e *event.UpdateOK) error {
	was := p.a.alerted
	err := p.a.onOK(ctx, e)
	if was && !p.a.alerted {
		p.log.Info("all-clear sent")
	}
	return err
}

func main() {
	// -version as the only argument prints the version instead of serving.
	if len(os.Args) == 2 && os.Args[1] == "-version" {
		fmt.Println(version.Line("webhook-alerter"))
		return
	}
	if err := plugin.Serve(&webhookPlugin{}); err != nil {
		fmt.Fprintln(os.Stderr, "webhook-alerter:", err)
		os.Exit(1)
	}
}
