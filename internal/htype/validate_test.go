package htype

import (
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name, typ, val string
		ok             bool
	}{
		{"int", "int", "3", true},
		{"int whole float", "int", "3.0", true},
		{"int fraction", "int", "3.5", false},
		{"int bool", "int", "true", false},
		{"int big", "int", "123456789012345678901234567890", true},
		{"int null", "int", "null", false},
		{"float int", "float", "3", true},
		{"float bool", "float", "false", false},
		{"str", "str", `"x"`, true},
		{"str number", "str", `1`, false},
		{"bool", "bool", `false`, true},
		{"bool number", "bool", `0`, false},
		{"enum member", `Enum["a",1]`, `"a"`, true},
		{"enum number equal", `Enum["a",1]`, `1.0`, true},
		{"enum bool is not number", `Enum["a",1]`, `true`, false},
		{"enum array", `Enum["a",1]`, `["a"]`, false},
		{"flags ok", `Flags["a","b",1,true]`, `["a",1]`, true},
		{"flags empty", `Flags["a"]`, `[]`, true},
		{"flags repeat", `Flags["a","b"]`, `["a","a"]`, false},
		{"flags python repeat true 1", `Flags[1,true]`, `[true,1]`, false},
		{"flags not member", `Flags["a"]`, `["b"]`, false},
		{"flags nested", `Flags["a"]`, `[["a"]]`, false},
		{"flags not array", `Flags["a"]`, `"a"`, false},
		{"seq", `Sequence<int>`, `[1,2,3.0]`, true},
		{"seq bad", `Sequence<int>`, `[1,"2"]`, false},
		{"map", `Mapping<Sequence<float>>`, `{"x":[1,2.5]}`, true},
		{"map bad", `Mapping<int>`, `{"x":1.5}`, false},
		{"map not object", `Mapping<int>`, `[1]`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := mustParse(t, tc.typ).Validate([]byte(tc.val))
			if tc.ok && err != nil {
				t.Fatalf("Validate(%s) = %v", tc.val, err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("Validate(%s) = %v, want ErrInvalidValue", tc.val, err)
			}
		})
	}
	var se *SyntaxError
	if err := mustParse(t, "int").Validate([]byte("nope")); !errors.As(err, &se) {
		t.Fatalf("malformed JSON gave %v", err)
	}
}

func TestPyEqual(t *testing.T) {
	tests := []struct {
		name, a, b string
		eq         bool
	}{
		{"int float", "1", "1.0", true},
		{"true one", "true", "1", true},
		{"false zero float", "false", "0.0", true},
		{"big", "100000000000000000000", "1e20", true},
		{"strings", `"a"`, `"a"`, true},
		{"string number", `"1"`, `1`, false},
		{"dict order", `{"a":1,"b":2}`, `{"b":2,"a":1.0}`, true},
		{"dict size", `{"a":1}`, `{"a":1,"b":2}`, false},
		{"list", `[1,2]`, `[1,2,3]`, false},
		{"null", `null`, `null`, true},
		{"null zero", `null`, `0`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseValue([]byte(tc.a))
			if err != nil {
				t.Fatal(err)
			}
			b, err := ParseValue([]byte(tc.b))
			if err != nil {
				t.Fatal(err)
			}
			if got := PyEqual(a, b); got != tc.eq {
				t.Fatalf("PyEqual(%s, %s) = %v", tc.a, tc.b, got)
			}
			boolVsNumber := (a.Kind() == Boolean) != (b.Kind() == Boolean)
			if got := JSONEqual(a, b); got != (tc.eq && !boolVsNumber) {
				t.Fatalf("JSONEqual(%s, %s) = %v", tc.a, tc.b, got)
			}
		})
	}
}
