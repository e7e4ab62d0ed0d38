package evaluate

import (
	"encoding/json"
	"testing"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/event"
)

func TestExplicit(t *testing.T) {
	features := []string{"user", "theme"}
	o := ContextOptions{TargetingFeature: "user"}
	cases := []struct {
		name  string
		attrs map[string]any
		o     ContextOptions
		want  map[string]string
		code  Code
	}{
		{"strings", map[string]any{"user": "a", "theme": "dark", "other": "x"}, ContextOptions{}, map[string]string{"user": "a", "theme": "dark"}, ""},
		{"numbers and booleans", map[string]any{"user": 42.0, "theme": true}, ContextOptions{}, map[string]string{"user": "42", "theme": "true"}, ""},
		{"json number kept as written", map[string]any{"user": json.Number("1e3")}, ContextOptions{}, map[string]string{"user": "1e3"}, ""},
		{"targeting key", map[string]any{"targetingKey": "bob"}, o, map[string]string{"user": "bob"}, ""},
		{"targeting key ignored unless mapped", map[string]any{"targetingKey": "bob"}, ContextOptions{}, map[string]string{}, ""},
		{"targeting key and attribute differ", map[string]any{"targetingKey": "bob", "user": "al"}, o, nil, InvalidContext},
		{"object refused", map[string]any{"theme": map[string]any{}}, ContextOptions{}, nil, InvalidContext},
		{"null refused", map[string]any{"theme": nil}, ContextOptions{}, nil, InvalidContext},
		{"unknown ignored", map[string]any{"planet": []any{1}}, ContextOptions{}, map[string]string{}, ""},
		{"unknown refused", map[string]any{"planet": "x"}, ContextOptions{RefuseUnknown: true}, nil, InvalidContext},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := map[string]string{"stale": "x"}
			err := Explicit(dst, "s", features, c.attrs, c.o)
			if c.code != "" {
				if err == nil || err.Code != c.code {
					t.Fatalf("err = %v, want code %s", err, c.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(dst) != len(c.want) {
				t.Fatalf("got %v, want %v", dst, c.want)
			}
			for k, v := range c.want {
				if dst[k] != v {
					t.Fatalf("got %v, want %v", dst, c.want)
				}
			}
		})
	}
}

func TestAccepts(t *testing.T) {
	cases := []struct {
		typ  string
		ok   []Kind
		fail []Kind
	}{
		{"bool", []Kind{KindBool, KindAny}, []Kind{KindString, KindInt, KindFloat, KindObject}},
		{"int", []Kind{KindInt, KindFloat}, []Kind{KindBool, KindString, KindObject}},
		{"float", []Kind{KindFloat}, []Kind{KindInt, KindString}},
		{"str", []Kind{KindString}, []Kind{KindInt, KindObject}},
		{`Enum["a","b"]`, []Kind{KindString}, []Kind{KindInt}},
		{`Enum["a",1]`, []Kind{KindAny}, []Kind{KindString, KindInt}},
		{`Flags["a","b"]`, []Kind{KindObject}, []Kind{KindString}},
		{"Sequence<int>", []Kind{KindObject}, []Kind{KindInt}},
		{"Mapping<str>", []Kind{KindObject}, []Kind{KindString}},
	}
	for _, c := range cases {
		cl := ClassOf(c.typ)
		for _, k := range c.ok {
			if !Accepts(cl, k) {
				t.Errorf("%s refuses %s", c.typ, k)
			}
		}
		for _, k := range c.fail {
			if Accepts(cl, k) {
				t.Errorf("%s accepts %s", c.typ, k)
			}
		}
	}
}

func TestDetails(t *testing.T) {
	var d Details
	conds := []event.Condition{{Feature: "user", Value: "a"}}
	got := d.Of(heksher.SourceRule, 7, conds)
	if got.Reason != TargetingMatch || got.Variant != "7" || got.Metadata["condition.user"] != "a" || got.Metadata["rule_id"] != int64(7) {
		t.Fatalf("rule detail = %+v", got)
	}
	if n := testing.AllocsPerRun(100, func() { d.Of(heksher.SourceRule, 7, conds) }); n != 0 {
		t.Fatalf("cached detail allocates %v times", n)
	}
	if got := d.Of(heksher.SourceServerDefault, 0, nil); got.Reason != Default || got.Variant != "" {
		t.Fatalf("server default detail = %+v", got)
	}
	if got := d.Of(heksher.SourceLocalDefault, 0, nil); got.Reason != Static {
		t.Fatalf("local default detail = %+v", got)
	}
}

func TestDecode(t *testing.T) {
	if v, err := Decode("s", json.RawMessage("3"), KindFloat); err != nil || v != 3.0 {
		t.Fatalf("float of int: %v %v", v, err)
	}
	if _, err := Decode("s", json.RawMessage("3.5"), KindInt); err == nil || err.Code != ParseError {
		t.Fatalf("int of 3.5: %v", err)
	}
	if v, err := Decode("s", json.RawMessage(`["a"]`), KindObject); err != nil || len(v.([]any)) != 1 {
		t.Fatalf("list: %v %v", v, err)
	}
}
