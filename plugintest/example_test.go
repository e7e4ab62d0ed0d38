package plugintest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/plugintest"
)

// Load the plugin written in WebAssembly text (examples/wasm-wat), give its
// setting two rules, announce a change and see what it looked up and logged.
// In a test, plugintest.New(t, …) does the loading and the closing.
func Example() {
	ctx := context.Background()
	settings := plugintest.NewSettings(nil, plugintest.Setting{
		Name:  "greeting",
		Rules: []event.Rule{plugintest.Rule("hello, prod", "env", "prod"), plugintest.Rule("hi", "env", "dev")},
	})
	p, err := plugintest.Open(ctx, "../examples/wasm-wat/plugin.wasm", plugintest.Options{Name: "wat", Settings: settings})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = p.Close(ctx) }()

	fmt.Println("subscribed to", p.Manifest().Subscriptions.Kinds())
	fmt.Println("setting_changed:", p.SendSettingChanged(ctx, "motd", plugintest.Rule("welcome")))
	fmt.Println("closing is delivered:", !errors.Is(p.SendClosing(ctx), plugintest.ErrNotSubscribed))
	for _, l := range p.Lookups() {
		fmt.Printf("looked up %s %v: %s (%s)\n", l.Setting, l.Features, l.Value.JSON, l.Value.Source)
	}
	for _, l := range p.Logs() {
		fmt.Println("logged", l)
	}
	// Output:
	// subscribed to [setting_changed]
	// setting_changed: <nil>
	// closing is delivered: false
	// looked up greeting [{env prod}]: "hello, prod" (rule)
	// logged INFO motd changed; greeting for env=prod: "hello, prod"
}

// A process plugin is loaded the same way; here the example that writes
// each changed greeting to a file (built by make process-plugins).
func ExampleOpen_process() {
	ctx := context.Background()
	p, err := plugintest.Open(ctx, "../examples/process-changes/bin/process-changes", plugintest.Options{
		Config: []byte(`{"file": "/dev/null", "languages": ["fr"]}`),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = p.Close(ctx) }()
	fmt.Println(p.Kind(), p.Name(), p.Manifest().Declarations[0].Name)
	fmt.Println(p.SendSettingChanged(ctx, "greeting", plugintest.Rule("bonjour", "language", "fr")))
	l := p.Lookups()[len(p.Lookups())-1]
	fmt.Printf("%s %v: %s\n", l.Setting, l.Features, l.Value.JSON)
	// Output:
	// process process-changes greeting
	// <nil>
	// greeting [{language fr}]: "bonjour"
}
