package heksher

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestSettingErrors(t *testing.T) {
	hookErr := errors.New("hook said no")
	tests := []struct {
		name     string
		err      error
		sentinel error
		text     string
	}{
		{"missing feature", &MissingFeatureError{Setting: "s", Feature: "theme"}, ErrMissingContextFeature,
			"heksher: setting s: configurable context feature theme is missing from both the default namespace and arguments"},
		{"not configurable", &NotConfigurableError{Setting: "s", Features: []string{"d"}}, ErrNotConfigurable,
			`heksher: setting s: context features ["d"] are not configurable (configurable features only)`},
		{"conversion", &ConversionError{Reason: "value is not a valid enum member: 3"}, ErrRejected,
			"heksher: value is not a valid enum member: 3"},
		{"conversion by a hook", &ConversionError{Reason: "validator rejected the value: hook said no", Err: hookErr}, hookErr,
			"heksher: validator rejected the value: hook said no"},
		{"panic", &PanicError{Setting: "s", Value: "boom"}, ErrPanic, "heksher: setting s: hook or validator panicked: boom"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", tc.err, tc.sentinel)
			}
			if tc.err.Error() != tc.text {
				t.Errorf("Error() = %q, want %q", tc.err.Error(), tc.text)
			}
		})
	}
	_, err := ParseType("enum[1]")
	if !errors.Is(err, ErrInvalidSetting) || !strings.HasPrefix(err.Error(), `heksher: invalid setting: type string "enum[1]"`) {
		t.Errorf("ParseType error = %v", err)
	}
}

func TestSource(t *testing.T) {
	for s, want := range map[Source]string{SourceRule: "rule", SourceServerDefault: "server_default", SourceLocalDefault: "local_default", 0: "unknown"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q", s, s.String())
		}
	}
	b, err := json.Marshal(JSONResolution{Value: json.RawMessage("1"), Source: SourceRule, RuleID: 4,
		Conditions: []Condition{{Feature: "a", Value: "x"}}, Retrieved: true})
	if err != nil || string(b) != `{"value":1,"source":"rule","rule_id":4,"conditions":[{"feature":"a","value":"x"}],"retrieved":true}` {
		t.Errorf("JSONResolution = %s, %v", b, err)
	}
}

func TestEnum_WireKinds(t *testing.T) {
	type k int
	typ := Enum(
		EnumMember[k]{1, int8(1)}, EnumMember[k]{2, uint(2)}, EnumMember[k]{3, json.Number("3.5")},
		EnumMember[k]{4, float32(0.5)}, EnumMember[k]{5, true}, EnumMember[k]{6, uint64(1 << 63)},
	)
	if err := typ.Err(); err != nil {
		t.Fatal(err)
	}
	if typ.String() != `Enum[0.5,1,2,3.5,9223372036854775808,true]` {
		t.Errorf("String() = %s", typ.String())
	}
	for raw, want := range map[string]k{"1.0": 1, "2": 2, "3.5": 3, "0.5": 4, "true": 5, "9223372036854775808": 6} {
		if v, _, err := typ.FromWire(json.RawMessage(raw)); err != nil || v != want {
			t.Errorf("FromWire(%s) = %v, %v; want %v", raw, v, err, want)
		}
	}
	if err := Enum(EnumMember[k]{1, json.Number("x")}).Err(); !errors.Is(err, ErrInvalidSetting) {
		t.Errorf("bad json.Number: %v", err)
	}
}

// The JSON view of every source, for settings of any type.
func TestSetting_LookupJSON(t *testing.T) {
	stub := cvStubMain(t)
	s := cvMust(NewSetting("e", colorEnum, []string{"a"}, red))(t)
	var any AnySetting = s.asAny()
	ctx := context.Background()
	jr := cvMust(any.LookupJSON(ctx, map[string]string{"a": "x"}))(t)
	if string(jr.Value) != `"red"` || jr.Source != SourceLocalDefault {
		t.Errorf("before retrieval: %+v", jr)
	}
	cvApply(t, s, stub, nil, `"blue"`, cvRule(1, `"green"`, "a", "x"))
	if jr := cvMust(any.LookupJSON(ctx, map[string]string{"a": "x"}))(t); string(jr.Value) != `"green"` || jr.RuleID != 1 {
		t.Errorf("rule: %+v", jr)
	}
	if jr := cvMust(any.LookupJSON(ctx, map[string]string{"a": "y"}))(t); string(jr.Value) != `"blue"` || jr.Source != SourceServerDefault {
		t.Errorf("server default: %+v", jr)
	}
	if _, err := any.LookupJSON(ctx, map[string]string{"b": "y"}); !errors.Is(err, ErrNotConfigurable) {
		t.Errorf("not configurable: %v", err)
	}
	// A validator that leaves the type has no wire form: an error, not a
	// wrong answer.
	s.AddValidator(func(v color, _ *QueriedRule, _ *Setting[color]) (color, error) { return color(42), nil })
	cvApply(t, s, stub, nil, "", cvRule(1, `"green"`, "a", "x"))
	if _, err := any.LookupJSON(ctx, map[string]string{"a": "x"}); !errors.Is(err, ErrInvalidSetting) {
		t.Errorf("value without a wire form: %v", err)
	}
	if any.Name() != "e" || any.TypeString() != `Enum["blue","green","red"]` || string(any.DefaultJSON()) != `"red"` {
		t.Errorf("AnySetting accessors: %s %s %s", any.Name(), any.TypeString(), any.DefaultJSON())
	}
}
