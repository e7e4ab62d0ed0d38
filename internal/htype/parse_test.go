package htype

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, in, want string
		kind           Kind
	}{
		{"int", "int", "int", Int},
		{"float", "float", "float", Float},
		{"str", "str", "str", Str},
		{"bool", "bool", "bool", Bool},
		{"enum sorted", `Enum["red", "blue", "green"]`, `Enum["blue","green","red"]`, Enum},
		{"enum mixed", `Enum [ 3, 1 ,"x", 1.0, true]`, `Enum["x",1,3,true]`, Enum},
		{"enum non-ascii and exponent", `Enum["é","b",10,2,1e20]`, `Enum["\u00e9","b",10,1e+20,2]`, Enum},
		{"enum first literal kept", `Enum[1, 1.0]`, `Enum[1]`, Enum},
		{"enum first float kept", `Enum[1.0, 1]`, `Enum[1.0]`, Enum},
		{"flags float", `Flags[0.0,1]`, `Flags[0.0,1]`, Flags},
		{"flags empty", `Flags[]`, `Flags[]`, Flags},
		{"flags mixed", `Flags[0, 1, "other", false]`, `Flags["other",0,1,false]`, Flags},
		{"flags transcript", `Flags["b","a",1,true]`, `Flags["a","b",1,true]`, Flags},
		{"enum transcript", "Enum[ \"red\", \"blue\", \"green\" ]", `Enum["blue","green","red"]`, Enum},
		{"flags prefix quirk", `Flagsy[1]`, "", Invalid},
		{"sequence spaced", `Sequence < Mapping<int> >`, `Sequence<Mapping<int>>`, Sequence},
		{"mapping nested", `Mapping<Sequence<Enum[1,2]>>`, `Mapping<Sequence<Enum[1,2]>>`, Mapping},
		{"mapping of seq float", `Mapping<Sequence<float>>`, `Mapping<Sequence<float>>`, Mapping},
		{"generic trailing newline", "Sequence<int>\n", `Sequence<int>`, Sequence},
		{"string escapes", `Enum["a\"b", "\n", "😀"]`, `Enum["\n","\ud83d\ude00","a\"b"]`, Enum},
		{"negative and small floats", `Enum[-0.0, 1e-5, 0.0001, 1e16, 1e15, -0]`, `Enum[-0.0,0.0001,1000000000000000.0,1e+16,1e-05]`, Enum},
		{"invalid number", "15", "", Invalid},
		{"invalid braces", "Flags{1,2,3}", "", Invalid},
		{"invalid lower", "enum[1,2,3]", "", Invalid},
		{"invalid nested array", "Flags[[0]]", "", Invalid},
		{"invalid null", "Flags[null]", "", Invalid},
		{"invalid empty generic", "Sequence<>", "", Invalid},
		{"invalid leading space", " int", "", Invalid},
		{"invalid trailing space", "int ", "", Invalid},
		{"invalid integer word", "integer", "", Invalid},
		{"invalid not array", `Enum{"a":1}`, "", Invalid},
		{"invalid generic no close", "Sequence<int", "", Invalid},
		{"invalid generic newline", "Sequence<\nint>", "", Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.kind == Invalid {
				if err == nil {
					t.Fatalf("Parse(%q) = %s, want error", tc.in, got)
				}
				if !errors.Is(err, ErrInvalidType) {
					t.Fatalf("error %v does not match ErrInvalidType", err)
				}
				var te *TypeError
				if !errors.As(err, &te) || te.Input != tc.in {
					t.Fatalf("error %v is not a TypeError for the input", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got.String() != tc.want || got.Kind() != tc.kind {
				t.Fatalf("Parse(%q) = %s (%v), want %s (%v)", tc.in, got, got.Kind(), tc.want, tc.kind)
			}
			again, err := Parse(got.String())
			if err != nil || !Equal(again, got) || again.String() != got.String() {
				t.Fatalf("re-parse of %s: %v, %v", got, again, err)
			}
		})
	}
}

func TestTypeAccessors(t *testing.T) {
	ty, err := Parse(`Mapping<Enum["b", 1.0, "a", true]>`)
	if err != nil {
		t.Fatal(err)
	}
	if ty.Kind() != Mapping || ty.Elem().Kind() != Enum || ty.Options() != nil {
		t.Fatalf("unexpected shape %v %v", ty.Kind(), ty.Elem())
	}
	var got []string
	for _, o := range ty.Elem().Options() {
		got = append(got, string(o))
	}
	want := []string{`"a"`, `"b"`, `1.0`, `true`}
	if len(got) != len(want) {
		t.Fatalf("Options() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Options() = %v, want %v", got, want)
		}
	}
	if Int.String() != "int" || Kind(99).String() != "Invalid" {
		t.Fatal("Kind.String")
	}
}

func mustParse(t testing.TB, s string) *Type {
	t.Helper()
	ty, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return ty
}

func TestEqualAndSubtype(t *testing.T) {
	tests := []struct {
		name     string
		a, b     string
		eq, less bool
	}{
		{"int float", "int", "float", false, true},
		{"float int", "float", "int", false, false},
		{"int int", "int", "int", true, false},
		{"enum spelling", `Enum[1, "a"]`, `Enum["a",1.0]`, true, false},
		{"enum bool vs number", `Enum[1]`, `Enum[true]`, false, false},
		{"enum subset", `Enum[0,1]`, `Enum[0,1,2]`, false, true},
		{"enum superset", `Enum[0,1,2]`, `Enum[0,1]`, false, false},
		{"flags subset", `Flags["a"]`, `Flags["a","b"]`, false, true},
		{"enum vs flags", `Enum["a"]`, `Flags["a","b"]`, false, false},
		{"enum vs str", `Enum["a"]`, `str`, false, false},
		{"seq of int", `Sequence<int>`, `Sequence<float>`, false, true},
		{"map of int", `Mapping<int>`, `Mapping<float>`, false, true},
		{"seq vs map", `Sequence<int>`, `Mapping<float>`, false, false},
		{"seq equal", `Sequence<Enum[1,2]>`, `Sequence <Enum[2, 1.0]>`, true, false},
		{"flags vs seq", `Flags[1]`, `Sequence<int>`, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := mustParse(t, tc.a), mustParse(t, tc.b)
			if got := Equal(a, b); got != tc.eq {
				t.Errorf("Equal = %v, want %v", got, tc.eq)
			}
			if got := IsSubtype(a, b); got != tc.less {
				t.Errorf("IsSubtype = %v, want %v", got, tc.less)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"int", `Enum["a", 1, 2.5e30, true]`, `Flags[]`, `Sequence < Mapping<int> >`,
		`Mapping<Sequence<Enum[1,2]>>`, `Enum["\u00e9"]`, "Flags[0.0,1]", "Sequence<Flags [ \"x\" ]>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ty, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(ty.String())
		if err != nil {
			t.Fatalf("rendered %q of %q does not parse: %v", ty.String(), s, err)
		}
		if again.String() != ty.String() || !Equal(again, ty) {
			t.Fatalf("unstable: %q -> %q -> %q", s, ty.String(), again.String())
		}
	})
}
