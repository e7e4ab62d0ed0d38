package process

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/hostapi"
)

func TestSmoke(t *testing.T) {
	cfg, rec := testPluginConfig(t, "smoke")
	p := startPlugin(t, cfg, newMemSettings("test.limit", "42"))
	ev := &event.SettingChanged{Header: event.Header{Seq: 1, Time: time.Now()}, Setting: "x"}
	if err := p.Deliver(context.Background(), event.Delivery{Event: ev, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	cmd, _ := json.Marshal(map[string]any{"setting": "test.limit"})
	ev = &event.SettingChanged{Header: event.Header{Seq: 2}, Setting: "cmd.lookup", New: event.RuleSet{Default: cmd}}
	if err := p.Deliver(context.Background(), event.Delivery{Event: ev, Seq: 2}); err != nil {
		t.Fatal(err)
	}
	t.Log(readRecords(t, rec), p.Status())
	_ = hostapi.StateRunning
}
