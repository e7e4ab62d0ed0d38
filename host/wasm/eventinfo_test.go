package wasm

import (
	"slices"
	"testing"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/abi"
	"github.com/heksher-go/heksher/pluginapi"
)

// A guest's selection becomes its manifest's; a guest that never selects
// gets every setting, as ABI v1 first defined. event_info answers the
// delivery's marks and closing reason in handlers only, and
// subscribe_setting only at init.
func TestEventInfoAndSubscribeSetting(t *testing.T) {
	r, _ := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "info", Path: "testdata/wat/eventinfo.wasm"}, nil)
	if got := p.Manifest().Settings; !slices.Equal(got, []string{"b"}) {
		t.Errorf("selection %q, want [b]", got)
	}
	legacy := mustLoad(t, r, PluginConfig{Name: "legacy", Path: trapWat}, nil)
	if got := legacy.Manifest().Settings; !slices.Equal(got, []string{pluginapi.AllSettings}) {
		t.Errorf("a guest that never selects: %q, want [*]", got)
	}
	at := func(addr uint32) int32 {
		t.Helper()
		v, ok := p.inst.mod.Memory().ReadUint32Le(addr)
		if !ok {
			t.Fatalf("memory at %d", addr)
		}
		return int32(v)
	}
	if at(24) != abi.ResultNotAllowed || at(28) != abi.ResultOK {
		t.Errorf("at init: event_info %d (want NOT_ALLOWED), subscribe_setting %d (want OK)", at(24), at(28))
	}

	d := changed("b")
	sc := *d.Event.(*event.SettingChanged)
	sc.Old = event.RuleSet{} // never retrieved: a start-up change
	d.Event, d.Unreadable = &sc, true
	if err := deliver(p, d); err != nil {
		t.Fatal(err)
	}
	if at(0) != abi.FlagInitial|abi.FlagUnreadable || at(4) != 0 || at(8) != abi.ResultNotAllowed || at(12) != abi.ResultMalformed {
		t.Errorf("in a change: flags %d, reason %d, subscribe_setting %d, event_info(99) %d", at(0), at(4), at(8), at(12))
	}
	if err := deliver(p, changed("b")); err != nil {
		t.Fatal(err)
	}
	if at(0) != 0 {
		t.Errorf("a later, readable change has flags %d, want 0", at(0))
	}
	for _, tc := range []struct {
		reason event.ClosingReason
		want   int32
	}{{event.ClosingShutdown, abi.ClosingShutdown}, {event.ClosingReplaced, abi.ClosingReplaced}, {event.ClosingRemoved, abi.ClosingRemoved}} {
		if err := deliver(p, event.Delivery{Seq: 9, Event: &event.Closing{Reason: tc.reason}}); err != nil {
			t.Fatal(err)
		}
		if at(16) != tc.want || at(20) != 0 {
			t.Errorf("closing %v: reason %d (want %d), flags %d", tc.reason, at(16), tc.want, at(20))
		}
	}
}
