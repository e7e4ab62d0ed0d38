package plugin_test

import (
	"context"
	"fmt"
	"os"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/plugin"
)

// limitWatcher keeps the value of one setting and logs when it changes.
type limitWatcher struct {
	plugin.Base
	req   plugin.InitRequest
	limit int
}

func (w *limitWatcher) Init(ctx context.Context, req plugin.InitRequest) (pluginapi.Manifest, error) {
	w.req = req
	return pluginapi.Manifest{
		Subscriptions: event.SetOf(event.KindSettingChanged),
		Declarations: []pluginapi.Declaration{{
			Name: "rate_limit", Type: "int", ConfigurableFeatures: []string{"env"}, Default: []byte("100"),
		}},
	}, nil
}

func (w *limitWatcher) OnSettingChanged(ctx context.Context, d plugin.Delivery, e *event.SettingChanged) error {
	if e.Setting != "rate_limit" {
		return nil
	}
	n, err := plugin.Get[int](ctx, w.req.Settings, "rate_limit", pluginapi.Feature{Name: "env", Value: "prod"})
	if err != nil {
		return err
	}
	if n != w.limit {
		w.req.Logger.Info("rate limit changed", "from", w.limit, "to", n, "delivery", d.Seq)
		w.limit = n
	}
	return nil
}

// This example is a whole plugin: a type embedding plugin.Base, and a main
// that serves it. Run by hand, Serve refuses and main prints why.
func Example() {
	if err := plugin.Serve(&limitWatcher{}); err != nil {
		fmt.Fprintln(os.Stdout, err)
	}
	// Output: plugin: this binary is a Heksher plugin; it is started by the Heksher host (heksher-host), not by hand
}
