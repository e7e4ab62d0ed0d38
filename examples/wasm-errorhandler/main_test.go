package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/wasm"
	"github.com/heksher-go/heksher/pluginapi"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type noSettings struct{}

func (noSettings) Lookup(context.Context, string, string, []pluginapi.Feature) (pluginapi.Value, error) {
	return pluginapi.Value{}, pluginapi.ErrNotFound
}

// Test_main loads plugin.wasm (built by `make wasm`) and feeds it three
// failed updates with a threshold of 3.
func Test_main(t *testing.T) {
	var out bytes.Buffer
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.RuntimeConfig{Logger: slog.New(slog.NewTextHandler(&out, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	p, err := rt.Load(ctx, wasm.PluginConfig{Name: "errors", Path: "plugin.wasm"}, noSettings{})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 3; n++ {
		ev := &event.UpdateError{Err: errors.New("timeout"), ConsecutiveFailures: n}
		if err := p.Deliver(ctx, event.Delivery{Seq: uint64(n), Event: ev}); err != nil {
			t.Fatal(err)
		}
	}
	if want := "heksher updates are failing: 3 in a row; last error: timeout"; !strings.Contains(out.String(), want) {
		t.Fatalf("log lacks %q:\n%s", want, out.String())
	}
}

// TestCountsItself feeds failures whose events carry no count of their own,
// so only the plugin's counting can reach the threshold; then a success.
func TestCountsItself(t *testing.T) {
	var out bytes.Buffer
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.RuntimeConfig{Logger: slog.New(slog.NewTextHandler(&out, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	p, err := rt.Load(ctx, wasm.PluginConfig{Name: "errors", Path: "plugin.wasm", Config: []byte(`{"threshold":3}`)}, noSettings{})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 3; n++ {
		ev := &event.UpdateError{Err: errors.New("refused")}
		if err := p.Deliver(ctx, event.Delivery{Seq: uint64(n), Event: ev}); err != nil {
			t.Fatal(err)
		}
		reported := strings.Contains(out.String(), "heksher updates are failing")
		if reported != (n == 3) {
			t.Fatalf("after %d failures: reported = %v; log:\n%s", n, reported, out.String())
		}
	}
	if !strings.Contains(out.String(), "heksher updates are failing: 3 in a row; last error: refused") {
		t.Fatalf("log:\n%s", out.String())
	}
	if err := p.Deliver(ctx, event.Delivery{Seq: 4, Event: &event.UpdateOK{}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "heksher updates recovered after 3 failures") {
		t.Fatalf("recovery not reported; log:\n%s", out.String())
	}
}
