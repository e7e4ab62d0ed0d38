// Command audit-log is a heksher-host process plugin that appends one JSON
// line per setting change (which rules were added, removed or changed, the
// rule sets before and after, and any gap left by dropped events) to a file.
// See README.md.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/version"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/plugin"
)

type auditPlugin struct {
	plugin.Base
	log *auditLog
}

func (p *auditPlugin) Init(_ context.Context, req plugin.InitRequest) (pluginapi.Manifest, error) {
	l, err := openAudit(req.Config)
	if err != nil {
		return pluginapi.Manifest{}, err
	}
	p.log = l
	// Every setting's changes, not only those of the settings it declares
	// (none): the audit trail covers the whole service.
	return pluginapi.Manifest{Subscriptions: event.SetOf(event.KindSettingChanged, event.KindClosing),
		Settings: []string{pluginapi.AllSettings}}, nil
}

func (p *auditPlugin) OnSettingChanged(_ context.Context, d plugin.Delivery, e *event.SettingChanged) error {
	return p.log.write(record(e, d.Seq, d.Dropped))
}

func (p *auditPlugin) OnClosing(context.Context, plugin.Delivery, *event.Closing) error {
	return p.log.f.Sync()
}

func main() {
	// -version as the only argument prints the version instead of serving.
	if len(os.Args) == 2 && os.Args[1] == "-version" {
		fmt.Println(version.Line("audit-log"))
		return
	}
	p := &auditPlugin{}
	err := plugin.Serve(p)
	if p.log != nil {
		_ = p.log.close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "audit-log:", err)
		os.Exit(1)
	}
}
