package wasm

import (
	"encoding/json"
	"testing"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/abi"
)

func BenchmarkProbeHandleEvent(b *testing.B) {
	OnSettingChanged(func(_ Delivery, e SettingChanged) error { return nil })
	ev := &event.SettingChanged{
		Setting: "noop",
		Old:     event.RuleSet{Retrieved: true, Rules: []event.Rule{{ID: 1, Value: json.RawMessage("1")}}},
		New: event.RuleSet{Retrieved: true, Default: json.RawMessage("5"), Rules: []event.Rule{
			{ID: 2, Conditions: []event.Condition{{Feature: "env", Value: "prod"}}, Value: json.RawMessage("2")},
			{ID: 3, Conditions: []event.Condition{{Feature: "env", Value: "dev"}, {Feature: "user", Value: "ann"}}, Value: json.RawMessage("3")},
		}},
	}
	p, _ := abi.AppendDelivery(nil, event.Delivery{Event: ev, Seq: 1})
	for b.Loop() {
		handleEvent(abi.KindSettingChanged, p)
	}
}
