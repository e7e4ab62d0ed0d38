package heksher

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

type color int

const (
	red color = iota
	blue
	green
)

var colorEnum = Enum(EnumMember[color]{red, "red"}, EnumMember[color]{blue, "blue"}, EnumMember[color]{green, "green"})

type conversionCase[T any] struct {
	name      string
	raw       string
	want      T
	coercions []string
	rejected  bool
}

func runConversions[T any](t *testing.T, typ Type[T], cases []conversionCase[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, cs, err := typ.FromWire(json.RawMessage(tc.raw))
			if tc.rejected {
				if !errors.Is(err, ErrRejected) {
					t.Fatalf("FromWire(%s) = %v, %v, %v; want a rejection", tc.raw, got, cs, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromWire(%s): %v", tc.raw, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("FromWire(%s) = %#v, want %#v", tc.raw, got, tc.want)
			}
			if len(cs) != len(tc.coercions) || (len(cs) > 0 && !reflect.DeepEqual(cs, tc.coercions)) {
				t.Errorf("coercions = %q, want %q", cs, tc.coercions)
			}
		})
	}
}

// checkRoundTrip asserts that v survives ToWire followed by FromWire
// unchanged and without coercions.
func checkRoundTrip[T any](t *testing.T, typ Type[T], v T) {
	t.Helper()
	got, cs, err := typ.FromWire(json.RawMessage(wireOf(t, typ, v)))
	if err != nil || len(cs) != 0 || !reflect.DeepEqual(got, v) {
		t.Errorf("round trip of %#v = %#v, %q, %v", v, got, cs, err)
	}
}

func wireOf[T any](t *testing.T, typ Type[T], v T) string {
	t.Helper()
	w, err := typ.ToWire(v)
	if err != nil {
		t.Fatalf("ToWire(%v): %v", v, err)
	}
	return string(w)
}

func TestTypeStrings(t *testing.T) {
	type mixed int
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"B25 int", Int().String(), "int"},
		{"float", Float().String(), "float"},
		{"str", Str().String(), "str"},
		{"bool", Bool().String(), "bool"},
		{"B21 enum mixed", Enum(EnumMember[mixed]{0, 0}, EnumMember[mixed]{1, 1}, EnumMember[mixed]{2, "c"}, EnumMember[mixed]{3, 3.5}).String(), `Enum["c",0,1,3.5]`},
		{"enum sorts 10 before 2", Enum(EnumMember[int]{2, 2}, EnumMember[int]{10, 10}).String(), `Enum[10,2]`},
		{"enum floats keep .0 and no HTML escaping", Enum(EnumMember[int]{1, 1.0}, EnumMember[int]{2, "<é>"}, EnumMember[int]{3, 1e20}).String(), `Enum["<é>",1.0,1e20]`},
		{"B22 flags", Flags("b", "a").String(), `Flags["a","b"]`},
		{"B23 sequence of enum", Sequence(colorEnum).String(), `Sequence<Enum["blue","green","red"]>`},
		{"B24 mapping of enum", Mapping(colorEnum).String(), `Mapping<Enum["blue","green","red"]>`},
		{"nested", Sequence(Mapping(Flags("x"))).String(), `Sequence<Mapping<Flags["x"]>>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %s, want %s", tc.got, tc.want)
			}
		})
	}
}

// B25
func TestInt(t *testing.T) {
	runConversions(t, Int(), []conversionCase[int64]{
		{name: "1", raw: "1", want: 1},
		{name: "negative", raw: "-7", want: -7},
		{name: "1.5 rejected", raw: "1.5", rejected: true},
		{name: "string rejected", raw: `"1"`, rejected: true},
		{name: "Q-INT 3.0 rejected", raw: "3.0", rejected: true},
		{name: "exponent rejected", raw: "1e2", rejected: true},
		{name: "Q-BOOLNUM true rejected", raw: "true", rejected: true},
		{name: "null rejected", raw: "null", rejected: true},
		{name: "out of range rejected", raw: "9223372036854775808", rejected: true},
		{name: "not JSON rejected", raw: "{", rejected: true},
	})
	if got := wireOf(t, Int(), 1); got != "1" {
		t.Errorf("to-wire 1 = %s", got)
	}
}

func TestPrimitives(t *testing.T) {
	t.Run("float", func(t *testing.T) {
		runConversions(t, Float(), []conversionCase[float64]{
			{name: "int literal", raw: "3", want: 3},
			{name: "float", raw: "3.5", want: 3.5},
			{name: "bool rejected", raw: "false", rejected: true},
			{name: "out of range rejected", raw: "1e1000", rejected: true},
			{name: "string rejected", raw: `"3"`, rejected: true},
		})
		if got := wireOf(t, Float(), 5); got != "5.0" {
			t.Errorf("to-wire 5 = %s, want 5.0", got)
		}
	})
	t.Run("str", func(t *testing.T) {
		runConversions(t, Str(), []conversionCase[string]{
			{name: "string", raw: `"a<b"`, want: "a<b"},
			{name: "number rejected", raw: "1", rejected: true},
		})
		if got := wireOf(t, Str(), "<é>"); got != `"<é>"` {
			t.Errorf("to-wire = %s", got)
		}
	})
	t.Run("bool", func(t *testing.T) {
		runConversions(t, Bool(), []conversionCase[bool]{
			{name: "true", raw: "true", want: true},
			{name: "1 rejected", raw: "1", rejected: true},
		})
		if got := wireOf(t, Bool(), false); got != "false" {
			t.Errorf("to-wire = %s", got)
		}
	})
}

// B21
func TestEnum(t *testing.T) {
	type m string
	typ := Enum(EnumMember[m]{"a", 0}, EnumMember[m]{"b", 1}, EnumMember[m]{"c", "c"}, EnumMember[m]{"d", 3.5})
	runConversions(t, typ, []conversionCase[m]{
		{name: "from 0", raw: "0", want: "a"},
		{name: "from c", raw: `"c"`, want: "c"},
		{name: "numeric equality 1.0", raw: "1.0", want: "b"},
		{name: "3.5", raw: "3.5", want: "d"},
		{name: "from b rejected", raw: `"b"`, rejected: true},
		{name: "Q-BOOLNUM true is not 1", raw: "true", rejected: true},
		{name: "array rejected", raw: "[0]", rejected: true},
	})
	if got := wireOf(t, typ, "a"); got != "0" {
		t.Errorf("to-wire a = %s", got)
	}
	if got := wireOf(t, typ, "c"); got != `"c"` {
		t.Errorf("to-wire c = %s", got)
	}
	if _, err := typ.ToWire("zz"); !errors.Is(err, ErrInvalidSetting) {
		t.Errorf("to-wire of a non-member: %v", err)
	}
}

func TestEnum_Errors(t *testing.T) {
	tests := []struct {
		name string
		typ  Type[int]
	}{
		{"no members", Enum[int]()},
		{"equal wire values 1 and 1.0", Enum(EnumMember[int]{1, 1}, EnumMember[int]{2, 1.0})},
		{"same Go value twice", Enum(EnumMember[int]{1, 1}, EnumMember[int]{1, 2})},
		{"non-primitive wire value", Enum(EnumMember[int]{1, []int{1}})},
		{"NaN", Enum(EnumMember[int]{1, nanValue()})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.typ.Err(); !errors.Is(err, ErrInvalidSetting) {
				t.Errorf("Err() = %v", err)
			}
		})
	}
}

func nanValue() float64 {
	z := 0.0
	return z / z
}

// B22
func TestFlags(t *testing.T) {
	typ := Flags("a", "b")
	runConversions(t, typ, []conversionCase[FlagSet]{
		{name: "unknown c coerced", raw: `["a","c"]`, want: NewFlagSet("a"),
			coercions: []string{"server sent a flag value not found in the python type (c)"}},
		{name: "empty clean", raw: `[]`, want: FlagSet{}},
		{name: "both clean", raw: `["a","b"]`, want: NewFlagSet("a", "b")},
		{name: "non-string element rejected", raw: `["a",["abc"]]`, rejected: true},
		{name: "Q-ITER string rejected", raw: `"ab"`, rejected: true},
		{name: "Q-ITER object rejected", raw: `{"a":1}`, rejected: true},
		{name: "all unknown gives empty set with coercions", raw: `["x"]`, want: FlagSet{},
			coercions: []string{"server sent a flag value not found in the python type (x)"}},
	})
	if got := wireOf(t, typ, NewFlagSet("b")); got != `["b"]` {
		t.Errorf("to-wire {b} = %s", got)
	}
	if got := wireOf(t, typ, NewFlagSet("b", "a")); got != `["a","b"]` {
		t.Errorf("to-wire {a,b} = %s", got)
	}
	if got := wireOf(t, Flags("z", "a"), NewFlagSet("a", "z")); got != `["z","a"]` {
		t.Errorf("to-wire keeps declaration order: %s", got)
	}
	if _, err := typ.ToWire(NewFlagSet("q")); !errors.Is(err, ErrInvalidSetting) {
		t.Errorf("to-wire of an unknown name: %v", err)
	}
	if err := Flags("a", "a").Err(); !errors.Is(err, ErrInvalidSetting) {
		t.Errorf("duplicate flag name: %v", err)
	}
}

func TestFlagSet(t *testing.T) {
	f := NewFlagSet("b", "a", "b")
	if f.Len() != 2 || !f.Has("a") || f.Has("c") || f.String() != "a|b" {
		t.Errorf("NewFlagSet = %v", f)
	}
	g := f.With("c")
	if !g.Has("c") || f.Has("c") {
		t.Errorf("With changed the receiver or failed: %v %v", f, g)
	}
	if h := g.Without("a", "c"); !h.Equal(NewFlagSet("b")) {
		t.Errorf("Without = %v", h)
	}
	names := f.Names()
	names[0] = "zzz"
	if !f.Has("a") {
		t.Error("Names exposed the internal slice")
	}
	if b, err := NewFlagSet("b", "a<").MarshalJSON(); err != nil || string(b) != `["a<","b"]` {
		t.Errorf("MarshalJSON = %s, %v", b, err)
	}
	if b, _ := json.Marshal(FlagSet{}); string(b) != "[]" {
		t.Errorf("MarshalJSON of the empty set = %s", b)
	}
	if (FlagSet{}).String() != "" || !(FlagSet{}).Equal(NewFlagSet()) {
		t.Error("zero FlagSet is not the empty set")
	}
}

// B23
func TestSequence(t *testing.T) {
	typ := Sequence(colorEnum)
	runConversions(t, typ, []conversionCase[[]color]{
		{name: "clean", raw: `["green","red","blue","green"]`, want: []color{green, red, blue, green}},
		{name: "element 3 coerced", raw: `["green","red","blue","white","green"]`, want: []color{green, red, blue, green},
			coercions: []string{`failed to convert element 3: value is not a valid enum member: "white"`}},
		{name: "Q-ITER non-array rejected", raw: `"green"`, rejected: true},
		{name: "empty", raw: `[]`, want: []color{}},
	})
	if got := wireOf(t, typ, []color{green, red, blue, green}); got != `["green","red","blue","green"]` {
		t.Errorf("to-wire = %s", got)
	}
	checkRoundTrip(t, typ, []color{green, red, blue, green}) // B23 to-wire round-trips
	nested := Sequence(Flags("a"))
	runConversions(t, nested, []conversionCase[[]FlagSet]{
		{name: "inner coercion prefixed", raw: `[["a"],["a","q"]]`, want: []FlagSet{NewFlagSet("a"), NewFlagSet("a")},
			coercions: []string{"element 1: server sent a flag value not found in the python type (q)"}},
	})
}

// B24
func TestMapping(t *testing.T) {
	typ := Mapping(colorEnum)
	runConversions(t, typ, []conversionCase[map[string]color]{
		{name: "clean", raw: `{"fg":"blue","bg":"red"}`, want: map[string]color{"fg": blue, "bg": red}},
		{name: "key tx coerced", raw: `{"fg":"blue","bg":"red","tx":"white"}`, want: map[string]color{"fg": blue, "bg": red},
			coercions: []string{`failed to convert value for key tx: value is not a valid enum member: "white"`}},
		{name: "Q-MAP non-object rejected", raw: `["fg"]`, rejected: true},
	})
	if got := wireOf(t, typ, map[string]color{"fg": blue, "bg": red}); got != `{"bg":"red","fg":"blue"}` {
		t.Errorf("to-wire = %s", got)
	}
	checkRoundTrip(t, typ, map[string]color{"fg": blue, "bg": red}) // B24 to-wire round-trips
	nested := Mapping(Sequence(Int()))
	runConversions(t, nested, []conversionCase[map[string][]int64]{
		{name: "inner coercion prefixed", raw: `{"k":[1,"x"]}`, want: map[string][]int64{"k": {1}},
			coercions: []string{`k: failed to convert element 1: expected int, got "x"`}},
	})
}

func TestZeroType(t *testing.T) {
	var z Type[int]
	if err := z.Err(); !errors.Is(err, ErrInvalidSetting) {
		t.Errorf("zero Type Err() = %v", err)
	}
	if err := Sequence(z).Err(); !errors.Is(err, ErrInvalidSetting) {
		t.Errorf("Sequence of zero Type Err() = %v", err)
	}
	if _, _, err := z.FromWire(json.RawMessage("1")); !errors.Is(err, ErrInvalidSetting) {
		t.Errorf("FromWire on zero Type: %v", err)
	}
}
