package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/wasm"
	"github.com/heksher-go/heksher/pluginapi"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// settings resolves rate_limit to 250 for env=prod and 100 otherwise.
type settings struct{}

func (settings) Lookup(_ context.Context, _, setting string, fs []pluginapi.Feature) (pluginapi.Value, error) {
	if setting != "rate_limit" {
		return pluginapi.Value{}, pluginapi.ErrNotFound
	}
	for _, f := range fs {
		if f.Name == "env" && f.Value == "prod" {
			return pluginapi.Value{JSON: json.RawMessage("250"), Source: pluginapi.SourceRule}, nil
		}
	}
	return pluginapi.Value{JSON: json.RawMessage("100"), Source: pluginapi.SourceServerDefault}, nil
}

// Test_main loads plugin.wasm (built by `make wasm`) in the wasm runtime and
// delivers one setting change.
func Test_main(t *testing.T) {
	var out bytes.Buffer
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.RuntimeConfig{Logger: slog.New(slog.NewTextHandler(&out, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	p, err := rt.Load(ctx, wasm.PluginConfig{Name: "changes", Path: "plugin.wasm"}, settings{})
	if err != nil {
		t.Fatal(err)
	}
	ev := &event.SettingChanged{Setting: "feature_x", New: event.RuleSet{Rules: []event.Rule{{ID: 1, Value: json.RawMessage("true")}}}}
	if err := p.Deliver(ctx, event.Delivery{Seq: 1, Event: ev}); err != nil {
		t.Fatal(err)
	}
	if want := "setting feature_x changed: rules 0 -> 1; rate_limit is 250"; !strings.Contains(out.String(), want) {
		t.Fatalf("log lacks %q:\n%s", want, out.String())
	}
}
