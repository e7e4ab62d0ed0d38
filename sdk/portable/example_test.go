package portable_test

import (
	"context"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/portable"
)

// limitWatcher keeps the value of one setting and logs when it changes.
type limitWatcher struct {
	portable.Base
	req   portable.InitRequest
	limit int
}

func (w *limitWatcher) Init(_ context.Context, req portable.InitRequest) (pluginapi.Manifest, error) {
	w.req = req
	return pluginapi.Manifest{
		Subscriptions: event.SetOf(event.KindSettingChanged, event.KindClosing),
		Declarations: []pluginapi.Declaration{{
			Name: "rate_limit", Type: "int", ConfigurableFeatures: []string{"env"}, Default: []byte("100"),
		}},
	}, nil
}

func (w *limitWatcher) OnSettingChanged(ctx context.Context, d portable.Delivery, e *event.SettingChanged) error {
	n, err := portable.Get[int](ctx, w.req.Settings, "rate_limit", pluginapi.Feature{Name: "env", Value: "prod"})
	if err != nil {
		return err
	}
	if e.Initial() {
		w.limit = n // the value at start-up is no change
		return nil
	}
	if n != w.limit {
		w.req.Logger.Info("rate limit changed", "from", w.limit, "to", n, "delivery", d.Seq)
		w.limit = n
	}
	return nil
}

func (w *limitWatcher) OnClosing(_ context.Context, _ portable.Delivery, e *event.Closing) error {
	w.req.Logger.Info("closing", "reason", e.Reason.String())
	return nil
}

// This example is a whole plugin: a type embedding portable.Base, registered
// from init (where a wasm guest starts) and served from main (where a
// process plugin starts). In a real plugin the two calls are:
//
//	func init() { portable.Register(&limitWatcher{}) }
//	func main() { portable.Main() }
//
// and the same file builds with `GOOS=wasip1 GOARCH=wasm go build
// -buildmode=c-shared` as a wasm guest, or with `go build` as a process
// plugin.
func Example() {
	portable.Register(&limitWatcher{})
}
