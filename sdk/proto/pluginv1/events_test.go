package pluginv1_test

import (
	"slices"
	"testing"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

// The marks and the closing reason cross the wire; a closing from a host
// that predates reasons reads as a shutdown.
func TestDelivery_MarksAndReasons(t *testing.T) {
	start := event.Delivery{Seq: 3, Unreadable: true, Event: &event.SettingChanged{Setting: "b", New: event.RuleSet{Retrieved: true}}}
	m, err := pluginv1.FromDelivery(start)
	if err != nil {
		t.Fatal(err)
	}
	if !m.GetUnreadable() || !m.GetSettingChanged().GetInitial() {
		t.Errorf("wire delivery %v: want unreadable and initial", m)
	}
	back, err := m.ToDelivery()
	if err != nil {
		t.Fatal(err)
	}
	if sc := back.Event.(*event.SettingChanged); !back.Unreadable || !sc.Initial() {
		t.Errorf("back: %+v", back)
	}
	for _, r := range []event.ClosingReason{event.ClosingShutdown, event.ClosingReplaced, event.ClosingRemoved} {
		m, err := pluginv1.FromDelivery(event.Delivery{Seq: 1, Event: &event.Closing{Reason: r}})
		if err != nil {
			t.Fatal(err)
		}
		back, err := m.ToDelivery()
		if err != nil {
			t.Fatal(err)
		}
		if got := back.Event.(*event.Closing).Reason; got != r {
			t.Errorf("reason %v came back as %v", r, got)
		}
	}
	old := &pluginv1.Delivery{Seq: 1, Event: &pluginv1.Delivery_Closing{Closing: &pluginv1.Closing{}}}
	back, err = old.ToDelivery()
	if err != nil || back.Event.(*event.Closing).Reason != event.ClosingShutdown {
		t.Errorf("a closing without a reason: %+v, %v; want a shutdown", back, err)
	}
}

// An InitResponse without a selection (a plugin built before it existed)
// selects every setting; the SDK always sends one, so that a plugin that
// selects nothing gets its declarations only.
func TestManifest_SettingSelection(t *testing.T) {
	m, err := (&pluginv1.InitResponse{Subscriptions: []string{"setting_changed"}}).ToManifest()
	if err != nil || !slices.Equal(m.Settings, []string{pluginapi.AllSettings}) {
		t.Errorf("no selection: %q, %v; want [*]", m.Settings, err)
	}
	for _, sel := range [][]string{nil, {"b"}, {pluginapi.AllSettings}} {
		resp, err := pluginv1.FromManifest(pluginapi.Manifest{Settings: sel})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetSettings() == nil {
			t.Fatalf("selection %q: the response carries none", sel)
		}
		m, err := resp.ToManifest()
		if err != nil || !slices.Equal(m.Settings, sel) {
			t.Errorf("selection %q came back as %q, %v", sel, m.Settings, err)
		}
	}
}
