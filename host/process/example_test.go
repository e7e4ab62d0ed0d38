package process_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/process"
	"github.com/heksher-go/heksher/pluginapi"
)

// greeting is a pluginapi.Settings that knows one setting.
type greeting struct{}

func (greeting) Lookup(_ context.Context, _, setting string, _ []pluginapi.Feature) (pluginapi.Value, error) {
	if setting != "greeting" {
		return pluginapi.Value{}, pluginapi.ErrNotFound
	}
	return pluginapi.Value{JSON: json.RawMessage(`"bonjour"`), Source: pluginapi.SourceRule}, nil
}

// Example loads the process-changes example plugin (built by
// `make process-plugins`), delivers one event to it and closes it.
func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer func() { _ = os.RemoveAll(dir) }()
	out := filepath.Join(dir, "changes.log")
	cfg, _ := json.Marshal(map[string]any{"file": out})

	ctx := context.Background()
	p, err := process.Start(ctx, process.Config{
		Name:   "changes",
		Path:   "../../examples/process-changes/bin/process-changes",
		Config: cfg,
	}, greeting{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = p.Close(ctx) }()

	m := p.Manifest()
	fmt.Println(p.Status().State, m.Subscriptions.Kinds(), m.Declarations[0].Name)

	ev := &event.SettingChanged{Header: event.Header{Seq: 1}, Setting: "greeting"}
	if err := p.Deliver(ctx, event.Delivery{Event: ev, Seq: 1}); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := os.ReadFile(out)
	fmt.Print(string(b))
	// Output:
	// running [setting_changed] greeting
	// greeting[language=en]: "hello" -> "bonjour"
}

// ExampleStart_errors shows how Start reports a binary it will not run.
func ExampleStart_errors() {
	_, err := process.Start(context.Background(), process.Config{
		Name:   "alerter",
		Path:   "../../examples/process-alerter/bin/process-alerter",
		SHA256: "0000000000000000000000000000000000000000000000000000000000000000",
	}, greeting{})
	var se *process.StartError
	fmt.Println(errors.Is(err, process.ErrChecksumMismatch), errors.As(err, &se) && se.Plugin == "alerter")
	// Output: true true
}
