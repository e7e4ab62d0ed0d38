package pluginv1_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

// errText replaces the errors of events (which cross as text) by their
// text, so that round-tripped events compare with DeepEqual.
func errText(e event.Event) (event.Event, string) {
	switch v := e.(type) {
	case *event.Declared:
		c := *v
		c.Err = nil
		if v.Err != nil {
			return &c, v.Err.Error()
		}
		return &c, ""
	case *event.UpdateError:
		c := *v
		c.Err = nil
		return &c, v.Err.Error()
	}
	return e, ""
}

func TestDelivery_RoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	conds := []event.Condition{{Feature: "env", Value: "prod"}, {Feature: "user", Value: "ann"}}
	tests := []struct {
		name string
		e    event.Event
	}{
		{name: "declared", e: &event.Declared{Header: event.Header{Seq: 1, Time: at}, Setting: "a", Version: "2.0", Outcome: "outdated",
			LatestVersion: "3.0", Differences: json.RawMessage(`[{"level":"minor"}]`), Tracked: true}},
		{name: "declared failed", e: &event.Declared{Header: event.Header{Seq: 2}, Setting: "a", Err: errors.New("refused")}},
		{name: "update ok", e: &event.UpdateOK{Header: event.Header{Seq: 3, Time: at}, NotModified: true, ETag: `"x"`,
			Changed: []string{"a"}, Rejected: []event.RejectedValue{
				{Setting: "a", Default: true, Value: json.RawMessage(`"s"`), Reason: "not an int"},
				{Setting: "b", RuleID: 7, Conditions: conds, Value: json.RawMessage(`1.5`), Reason: "not an int"},
			}, Duration: 3 * time.Millisecond}},
		{name: "update error", e: &event.UpdateError{Header: event.Header{Seq: 4, Time: at}, Err: errors.New("503"),
			ConsecutiveFailures: 2, LastSuccess: at.Add(-time.Hour), Duration: time.Second}},
		{name: "update error never succeeded", e: &event.UpdateError{Header: event.Header{Seq: 5, Time: at}, Err: errors.New("503"), ConsecutiveFailures: 1}},
		{name: "setting changed", e: &event.SettingChanged{Header: event.Header{Seq: 6, Time: at}, Setting: "a",
			Old: event.RuleSet{Retrieved: false},
			New: event.RuleSet{Retrieved: true, Rules: []event.Rule{{ID: 3, Conditions: conds, Value: json.RawMessage(`{"k":[1]}`)}},
				Default: json.RawMessage(`null`)}}},
		{name: "closing", e: &event.Closing{Header: event.Header{Seq: 7, Time: at}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := event.Delivery{Event: tc.e, Seq: 9, Dropped: 2}
			m, err := pluginv1.FromDelivery(in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.ToDelivery()
			if err != nil {
				t.Fatal(err)
			}
			if out.Seq != 9 || out.Dropped != 2 {
				t.Errorf("seq/dropped = %d/%d", out.Seq, out.Dropped)
			}
			want, wantErr := errText(tc.e)
			got, gotErr := errText(out.Event)
			if !reflect.DeepEqual(got, want) || gotErr != wantErr {
				t.Errorf("round trip:\n got %#v (%q)\nwant %#v (%q)", got, gotErr, want, wantErr)
			}
			if ue, ok := tc.e.(*event.UpdateError); ok {
				if got := m.GetUpdateError().GetSinceLastSuccessNanos(); time.Duration(got) != ue.SinceLastSuccess() {
					t.Errorf("since_last_success = %v, want %v", time.Duration(got), ue.SinceLastSuccess())
				}
			}
		})
	}
}

type strangeEvent struct{ event.Header }

func (strangeEvent) Kind() event.Kind { return 99 }

func TestDelivery_Unknown(t *testing.T) {
	if _, err := pluginv1.FromDelivery(event.Delivery{Event: strangeEvent{}}); err == nil {
		t.Error("FromDelivery accepted an unknown event type")
	}
	if _, err := (&pluginv1.Delivery{Seq: 1}).ToDelivery(); err == nil {
		t.Error("ToDelivery accepted a delivery without an event")
	}
}

func TestManifest_RoundTrip(t *testing.T) {
	in := pluginapi.Manifest{
		Subscriptions: event.SetOf(event.KindUpdateError, event.KindSettingChanged),
		Declarations: []pluginapi.Declaration{
			{Name: "a", Type: `Enum["x","y"]`, ConfigurableFeatures: []string{"env"}, Default: json.RawMessage(`"x"`),
				Version: "1.1", Metadata: map[string]any{"owner": "ops"}},
			{Name: "b", Type: "int", Default: json.RawMessage(`0`)},
		},
	}
	m, err := pluginv1.FromManifest(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.ToManifest()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip:\n got %#v\nwant %#v", out, in)
	}
}

func TestManifest_Bad(t *testing.T) {
	tests := []struct {
		name string
		resp *pluginv1.InitResponse
	}{
		{name: "unknown kind", resp: &pluginv1.InitResponse{Subscriptions: []string{"update_ok", "tuesday"}}},
		{name: "nameless declaration", resp: &pluginv1.InitResponse{Declarations: []*pluginv1.Declaration{{Type: "int"}}}},
		{name: "metadata not an object", resp: &pluginv1.InitResponse{Declarations: []*pluginv1.Declaration{{Name: "a", MetadataJson: []byte(`[1]`)}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.resp.ToManifest(); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestLookup_Errors(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{name: "not found", err: pluginapi.ErrNotFound},
		{name: "not declared", err: pluginapi.ErrNotDeclared},
		{name: "bad context", err: pluginapi.ErrBadContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wrapped := errors.Join(errors.New(`setting "x"`), tc.err)
			back := pluginv1.LookupError(pluginv1.LookupStatus(wrapped))
			if !errors.Is(back, tc.err) {
				t.Errorf("%v does not match %v", back, tc.err)
			}
		})
	}
	other := errors.New("disk on fire")
	if back := pluginv1.LookupError(pluginv1.LookupStatus(other)); errors.Is(back, pluginapi.ErrNotFound) || back == nil {
		t.Errorf("internal error came back as %v", back)
	}
	if pluginv1.LookupStatus(nil) != nil {
		t.Error("LookupStatus(nil) != nil")
	}
}

func TestValue_RoundTrip(t *testing.T) {
	in := pluginapi.Value{JSON: json.RawMessage(`[1,2]`), Source: pluginapi.SourceRule, RuleID: 5,
		Conditions: []event.Condition{{Feature: "env", Value: "prod"}}}
	if out := pluginv1.FromValue(in).ToValue(); !reflect.DeepEqual(out, in) {
		t.Errorf("got %#v, want %#v", out, in)
	}
	fs := []pluginapi.Feature{{Name: "a", Value: "1"}}
	if out := pluginv1.ToFeatures(pluginv1.FromFeatures(fs)); !reflect.DeepEqual(out, fs) {
		t.Errorf("features: got %#v", out)
	}
}
