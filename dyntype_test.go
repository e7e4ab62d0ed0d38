package heksher

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/heksher-go/heksher/internal/htype"
)

func TestDynType_Strings(t *testing.T) {
	tests := []struct{ in, want string }{
		{"int", "int"},
		{"float", "float"},
		{"str", "str"},
		{"bool", "bool"},
		{`Enum [ 3, 1 ,"x", 1.0, true]`, `Enum["x",1,3,true]`},
		{`Enum["c",0,1,3.5]`, `Enum["c",0,1,3.5]`},
		{`Flags["b", "a"]`, `Flags["a","b"]`},
		{`Flags[]`, `Flags[]`},
		{`Sequence < Mapping<int> >`, `Sequence<Mapping<int>>`},
		{`Mapping<Sequence<Enum[2,1]>>`, `Mapping<Sequence<Enum[1,2]>>`},
		{`Enum["é",1e20]`, `Enum["é",1e20]`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			typ, err := ParseType(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if typ.String() != tc.want {
				t.Errorf("String() = %s, want %s", typ.String(), tc.want)
			}
		})
	}
}

func TestDynType_Invalid(t *testing.T) {
	for _, in := range []string{"15", "Flags{1,2,3}", "enum[1,2,3]", "Flags[[0]]", "Flags[null]", "Sequence<>", " int", ""} {
		t.Run(in, func(t *testing.T) {
			_, err := ParseType(in)
			if !errors.Is(err, ErrInvalidSetting) || !errors.Is(err, htype.ErrInvalidType) {
				t.Errorf("ParseType(%q) error = %v", in, err)
			}
		})
	}
}

// heksher-py's conversion rules over JSON values, mirroring the typed tests
// (B21–B25) and the quirk decisions.
func TestDynType_Conversions(t *testing.T) {
	tests := []struct {
		typ, raw  string
		want      string // re-encoded value; "" = rejected
		coercions []string
	}{
		{"int", "1", "1", nil},
		{"int", "3.0", "", nil},  // Q-INT
		{"int", "true", "", nil}, // Q-BOOLNUM
		{"int", `"1"`, "", nil},
		{"int", "123456789012345678901234567890", "123456789012345678901234567890", nil},
		{"float", "3", "3", nil},
		{"float", "false", "", nil},
		{"str", `"a"`, `"a"`, nil},
		{"bool", "1", "", nil},
		{`Enum["c",0,1,3.5]`, "0", "0", nil}, // B21
		{`Enum["c",0,1,3.5]`, `"c"`, `"c"`, nil},
		{`Enum["c",0,1,3.5]`, `"b"`, "", nil},
		{`Enum["c",0,1,3.5]`, "1.0", "1.0", nil},
		{`Enum["c",0,1,3.5]`, "true", "", nil},
		{`Enum[true,"x"]`, "true", "true", nil},
		{`Flags["a","b"]`, `["a","c"]`, `["a"]`, []string{"server sent a flag value not found in the python type (c)"}}, // B22
		{`Flags["a","b"]`, `[]`, `[]`, nil},
		{`Flags["a","b"]`, `["a","b"]`, `["a","b"]`, nil},
		{`Flags["a","b"]`, `["a",1]`, "", nil},
		{`Flags["a","b"]`, `"ab"`, "", nil}, // Q-ITER
		{`Flags[1,2,"x"]`, `[1,"x",3]`, `[1,"x"]`, []string{"server sent a flag value not found in the python type (3)"}},
		{`Flags[1,2]`, `[1,[2]]`, "", nil},
		{`Sequence<Enum["blue","green","red"]>`, `["green","red","blue","white","green"]`, `["green","red","blue","green"]`,
			[]string{`failed to convert element 3: value is not a valid enum member: "white"`}}, // B23
		{`Mapping<Enum["blue","green","red"]>`, `{"fg":"blue","bg":"red","tx":"white"}`, `{"fg":"blue","bg":"red"}`,
			[]string{`failed to convert value for key tx: value is not a valid enum member: "white"`}}, // B24
		{`Mapping<int>`, `[1]`, "", nil}, // Q-MAP
		{`Sequence<Flags["a"]>`, `[["a","b"],["a"]]`, `[["a"],["a"]]`, []string{"element 0: server sent a flag value not found in the python type (b)"}},
		{`Mapping<Sequence<int>>`, `{"k":[1,2.5]}`, `{"k":[1]}`, []string{"k: failed to convert element 1: expected int, got 2.5"}},
	}
	for _, tc := range tests {
		t.Run(tc.typ+" "+tc.raw, func(t *testing.T) {
			typ := cvMust(ParseType(tc.typ))(t)
			got, cs, err := typ.FromWire(json.RawMessage(tc.raw))
			if tc.want == "" {
				if !errors.Is(err, ErrRejected) {
					t.Fatalf("FromWire = %s, %v, %v; want a rejection", got, cs, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want || !reflect.DeepEqual(cs, tc.coercions) {
				t.Errorf("FromWire = %s %q, want %s %q", got, cs, tc.want, tc.coercions)
			}
		})
	}
}

// A run-time typed setting uses the same machinery as a typed one.
func TestDynType_Setting(t *testing.T) {
	stub := cvStubMain(t)
	typ := cvMust(ParseType(`Flags["blue","green","red"]`))(t)
	s := cvMust(NewSetting("color", typ, []string{"a"}, json.RawMessage(`["green"]`)))(t)
	if body, _ := s.declaration().Marshal(); string(body) != `{"name":"color","configurable_features":["a"],"type":"Flags[\"blue\",\"green\",\"red\"]","metadata":{},"alias":null,"default_value":["green"],"version":"1.0"}` {
		t.Errorf("declaration = %s", body)
	}
	cvApply(t, s, stub, nil, `["white"]`, cvRule(1, `["green", "blue", "white"]`, "a", "x"))
	got := cvMust(s.Get(context.Background(), map[string]string{"a": "x"}))(t)
	if string(got) != `["green","blue"]` {
		t.Errorf("Get(a=x) = %s", got)
	}
	jr := cvMust(s.LookupJSON(context.Background(), map[string]string{"a": "y"}))(t)
	if string(jr.Value) != `[]` || jr.Source != SourceServerDefault {
		t.Errorf("LookupJSON(a=y) = %+v (%s)", jr, jr.Value)
	}
	ax := map[string]string{"a": "x"}
	if n := testing.AllocsPerRun(100, func() { _, _ = s.Get(context.Background(), ax) }); n != 0 {
		t.Errorf("Get allocates %v times", n)
	}
	if _, err := NewSetting("bad", typ, nil, json.RawMessage(`["white"]`)); !errors.Is(err, ErrInvalidSetting) {
		t.Errorf("a default with an unknown flag: %v", err)
	}
	if _, err := NewSetting("bad", typ, nil, json.RawMessage(`[`)); !errors.Is(err, ErrInvalidSetting) {
		t.Errorf("a default that is not JSON: %v", err)
	}
}

// FuzzParseType: any string either fails with ErrInvalidSetting or gives a
// type whose rendering parses back to an equal type.
func FuzzParseType(f *testing.F) {
	for _, s := range []string{"int", `Enum [ 3, 1 ,"x", 1.0, true]`, `Flags[0, 1, "other", false]`, `Sequence < Mapping<int> >`,
		`Mapping<Sequence<Enum[1,2]>>`, "Flagsy[1]", `Enum["é",1e20]`, "Sequence<>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, err := ParseType(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidSetting) {
				t.Fatalf("ParseType(%q): error %v does not match ErrInvalidSetting", s, err)
			}
			return
		}
		again, err := ParseType(typ.String())
		if err != nil {
			t.Fatalf("rendering %q of %q does not parse: %v", typ.String(), s, err)
		}
		a, _ := htype.Parse(s)
		b, _ := htype.Parse(again.String())
		if !htype.Equal(a, b) {
			t.Fatalf("%q renders as %q, a different type", s, typ.String())
		}
	})
}

// FuzzFromWire: conversion never panics; an accepted value is valid JSON
// that converts again cleanly to itself, and a clean conversion keeps the
// server's value.
func FuzzFromWire(f *testing.F) {
	types := []string{"int", "float", "str", "bool", `Enum["c",0,1,3.5]`, `Flags["a","b"]`, `Sequence<Enum["a","b"]>`,
		`Mapping<Sequence<int>>`, `Sequence<Mapping<Flags[1,"x"]>>`}
	for i, raw := range []string{"1", "3.0", `"x"`, "true", `["a","c"]`, `{"k":[1,"x"]}`, `[{"q":[1,"x",2]}]`, "null", "[", `{"a":1,"a":2}`} {
		f.Add(uint8(i), raw)
	}
	f.Fuzz(func(t *testing.T, which uint8, raw string) {
		typ, err := ParseType(types[int(which)%len(types)])
		if err != nil {
			t.Fatal(err)
		}
		v, cs, err := typ.FromWire(json.RawMessage(raw))
		if err != nil {
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("FromWire(%q): %v does not match ErrRejected", raw, err)
			}
			return
		}
		if !json.Valid(v) {
			t.Fatalf("FromWire(%q) = %q, not JSON", raw, v)
		}
		v2, cs2, err := typ.FromWire(v)
		if err != nil || len(cs2) != 0 || string(v2) != string(v) {
			t.Fatalf("re-converting %q (from %q, coercions %q) = %q, %q, %v", v, raw, cs, v2, cs2, err)
		}
		// The typed and run-time paths agree on int.
		if typ.String() == "int" {
			if _, _, ierr := Int().FromWire(json.RawMessage(raw)); ierr != nil && len(v) < 19 {
				t.Fatalf("int %q accepted at run time but rejected typed: %v", raw, ierr)
			}
		}
	})
}

// FuzzTypedFromWire: the typed Flags/Sequence/Mapping converters never panic
// and agree with the run-time ones on acceptance.
func FuzzTypedFromWire(f *testing.F) {
	for _, raw := range []string{`["blue","white"]`, `[]`, `"x"`, `[["a"]]`, `{"a":"red"}`, `[1]`} {
		f.Add(raw)
	}
	typed := Sequence(colorEnum)
	dyn := cvMust(ParseType(`Sequence<Enum["blue","green","red"]>`))(f)
	f.Fuzz(func(t *testing.T, raw string) {
		_, tcs, terr := typed.FromWire(json.RawMessage(raw))
		_, dcs, derr := dyn.FromWire(json.RawMessage(raw))
		if (terr == nil) != (derr == nil) || len(tcs) != len(dcs) {
			t.Fatalf("%q: typed %q %v, run-time %q %v", raw, tcs, terr, dcs, derr)
		}
	})
}
