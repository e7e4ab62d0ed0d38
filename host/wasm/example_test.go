package wasm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/wasm"
	"github.com/heksher-go/heksher/pluginapi"
)

// fixedSettings answers every lookup with the same value.
type fixedSettings json.RawMessage

func (s fixedSettings) Lookup(context.Context, string, string, []pluginapi.Feature) (pluginapi.Value, error) {
	return pluginapi.Value{JSON: json.RawMessage(s), Source: pluginapi.SourceRule}, nil
}

// Load the plugin written in WebAssembly text (examples/wasm-wat, built by
// `make wasm`), read its manifest and deliver it one event.
func ExampleRuntime_Load() {
	ctx := context.Background()
	// A text logger without times, so that the output is stable.
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	rt, err := wasm.NewRuntime(ctx, wasm.RuntimeConfig{Logger: log})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close(ctx)

	p, err := rt.Load(ctx, wasm.PluginConfig{Name: "wat", Path: "../../examples/wasm-wat/plugin.wasm"}, fixedSettings(`"hello, prod"`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range p.Manifest().Declarations {
		fmt.Printf("declares %s (%s, by %v, default %s)\n", d.Name, d.Type, d.ConfigurableFeatures, d.Default)
	}
	err = p.Deliver(ctx, event.Delivery{Seq: 1, Event: &event.SettingChanged{Setting: "motd"}})
	fmt.Println("delivered:", err)
	fmt.Println("state:", p.Status().State)
	// Output:
	// declares greeting (str, by [env], default "hello")
	// level=INFO msg="motd changed; greeting for env=prod: \"hello, prod\"" plugin=wat
	// delivered: <nil>
	// state: running
}
