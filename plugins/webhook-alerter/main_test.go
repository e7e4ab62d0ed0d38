package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/process"
	"github.com/heksher-go/heksher/pluginapi"
)

type noSettings struct{}

func (noSettings) Lookup(context.Context, string, string, []pluginapi.Feature) (pluginapi.Value, error) {
	return pluginapi.Value{}, pluginapi.ErrNotFound
}

// TestBuiltPlugin runs the binary built by `make host-plugins` as a real
// plugin process and feeds it an outage and a recovery.
func TestBuiltPlugin(t *testing.T) {
	path, _ := filepath.Abs(filepath.Join("bin", "webhook-alerter"))
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: run `make host-plugins`: %v", path, err)
	}
	r := newReceiver(t)
	ctx := context.Background()
	p, err := process.Start(ctx, process.Config{Name: "alerter", Path: path,
		Config: []byte(`{"url": "` + r.URL + `", "failures": 2}`)}, noSettings{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if m := p.Manifest(); !m.Subscriptions.Has(event.KindUpdateError) || !m.Subscriptions.Has(event.KindUpdateOK) {
		t.Fatalf("manifest %+v", m)
	}
	now := time.Now()
	events := []event.Event{
		&event.UpdateError{Header: event.Header{Seq: 1, Time: now}, Err: errors.New("boom"), ConsecutiveFailures: 1, LastSuccess: now.Add(-time.Minute)},
		&event.UpdateError{Header: event.Header{Seq: 2, Time: now}, Err: errors.New("boom"), ConsecutiveFailures: 2, LastSuccess: now.Add(-time.Minute)},
		&event.UpdateOK{Header: event.Header{Seq: 3, Time: now}},
	}
	for i, e := range events {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := p.Deliver(dctx, event.Delivery{Event: e, Seq: uint64(i + 1)})
		cancel()
		if err != nil {
			t.Fatalf("deliver %d: %v", i, err)
		}
	}
	if got := r.statuses(); got != "alert,all_clear" {
		t.Fatalf("received %q", got)
	}
}

// TestBuiltPluginWatch runs the built binary with a watched setting: it
// selects that setting's changes, posts a real change and stays silent on
// the start-up values (the first update after the host starts).
func TestBuiltPluginWatch(t *testing.T) {
	path, _ := filepath.Abs(filepath.Join("bin", "webhook-alerter"))
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: run `make host-plugins`: %v", path, err)
	}
	r := newReceiver(t)
	ctx := context.Background()
	p, err := process.Start(ctx, process.Config{Name: "alerter", Path: path,
		Config: []byte(`{"url": "` + r.URL + `", "watch": ["discount"]}`)}, noSettings{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if m := p.Manifest(); !m.Subscriptions.Has(event.KindSettingChanged) || len(m.Settings) != 1 || m.Settings[0] != "discount" {
		t.Fatalf("manifest %+v", m)
	}
	for i, e := range []event.Event{changed("discount", false), changed("discount", true)} {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := p.Deliver(dctx, event.Delivery{Event: e, Seq: uint64(i + 1)})
		cancel()
		if err != nil {
			t.Fatalf("deliver %d: %v", i, err)
		}
	}
	if got := r.statuses(); got != "changed" {
		t.Fatalf("received %q, want one change (the start-up values are no change)", got)
	}
}

func TestBuiltPluginRejectsBadConfig(t *testing.T) {
	path, _ := filepath.Abs(filepath.Join("bin", "webhook-alerter"))
	_, err := process.Start(context.Background(), process.Config{Name: "alerter", Path: path,
		Config: []byte(`{"url": "nope"}`), MaxRestarts: 1}, noSettings{})
	if err == nil {
		t.Fatal("a bad config must fail the load")
	}
}
