package plugintest_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/plugintest"
)

const asGuest = "../sdk/assemblyscript/testdata/guest.wasm"

// A start-up change and a later one are told apart, a change of a setting
// the plugin did not declare is marked unreadable, and the closing event
// carries its reason; a plugin that selects no setting beyond its
// declarations is not sent another's changes, as in the host.
func TestStartUpChangesUnreadableAndClosingReasons(t *testing.T) {
	ctx := t.Context()
	p := plugintest.New(t, asGuest, plugintest.Options{Config: json.RawMessage("all")}) // selects every setting
	if err := p.SendInitialSettingChanged(ctx, "marks"); err != nil {
		t.Fatal(err)
	}
	if err := p.SendSettingChanged(ctx, "marks", plugintest.Rule(1)); err != nil {
		t.Fatal(err)
	}
	if err := p.SendClosingReason(ctx, event.ClosingReplaced); err != nil {
		t.Fatal(err)
	}
	got := logLines(p)
	for _, want := range []string{
		"INFO marks: initial=true unreadable=true",
		"INFO marks: initial=false unreadable=true",
		"INFO closing reason=replaced",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("logs %q lack %q", got, want)
		}
	}

	own := plugintest.New(t, asGuest, plugintest.Options{})
	if err := own.SendSettingChanged(ctx, "marks"); !errors.Is(err, plugintest.ErrNotSubscribed) {
		t.Errorf("a change of a setting the plugin neither declared nor selected: %v, want ErrNotSubscribed", err)
	}
	if err := own.SendInitialSettingChanged(ctx, "greeting", plugintest.Rule("hi")); err != nil {
		t.Errorf("a change of its own setting: %v", err)
	}
}
