package yamlstrict

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

type duration time.Duration

func (d *duration) decode(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration, got %q", s)
	}
	*d = duration(v)
	return nil
}

func scalar(v reflect.Value) func(string) error {
	if d, ok := v.Addr().Interface().(*duration); ok {
		return d.decode
	}
	return nil
}

type item struct {
	Name  string         `yaml:"name"`
	Count int            `yaml:"count"`
	On    bool           `yaml:"on"`
	Wait  duration       `yaml:"wait"`
	Any   any            `yaml:"any"`
	Tags  map[string]any `yaml:"tags"`
}

type doc struct {
	Items []item            `yaml:"items"`
	Env   map[string]string `yaml:"env"`
}

func TestDecode(t *testing.T) {
	var d doc
	pos, err := Decode("f.yaml", []byte("items:\n  - name: a\n    count: 0x10\n    on: true\n    wait: 2s\n    any: [1, x]\n    tags: {k: {n: 1}}\nenv: {A: 1.0}\n"), &d, Options{Scalar: scalar})
	if err != nil {
		t.Fatal(err)
	}
	want := doc{Items: []item{{Name: "a", Count: 16, On: true, Wait: duration(2 * time.Second), Any: []any{1, "x"}, Tags: map[string]any{"k": map[string]any{"n": 1}}}}, Env: map[string]string{"A": "1.0"}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("decoded %#v\nwant %#v", d, want)
	}
	if p := pos["items[0].wait"]; p != (Position{5, 11}) {
		t.Errorf("position of items[0].wait = %v, want 5:11", p)
	}
	for _, empty := range []string{"", "# only a comment\n", "~\n"} {
		d := doc{Env: map[string]string{"kept": "x"}}
		if _, err := Decode("f.yaml", []byte(empty), &d, Options{}); err != nil || d.Env["kept"] != "x" {
			t.Errorf("Decode(%q) = %v, %v; want no error and out untouched", empty, d, err)
		}
	}
}

// TestDecodeErrors feeds the mistakes people make by hand and checks that
// each is refused with the place it was made.
func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       string // the whole error text
	}{
		{"unknown field", "items:\n  - name: a\n    cuont: 1\n", `f.yaml:3:5: items[0].cuont: unknown field "cuont" (known: name, count, on, wait, any, tags)`},
		{"field twice", "items:\n  - name: a\n    name: b\n", `f.yaml:3:5: items[0].name: field given twice`},
		{"key twice", "env:\n  A: x\n  A: y\n", `f.yaml:3:3: env.A: key given twice`},
		{"bool for a string", "env: {A: true}\n", `f.yaml:1:10: env.A: want a string, got boolean "true" (quote it to make it a string)`},
		{"list for a string", "items:\n  - name: [a]\n", `f.yaml:2:11: items[0].name: want a string, got a list`},
		{"string for an int", "items:\n  - count: many\n", `f.yaml:2:12: items[0].count: want an integer, got "many"`},
		{"int out of range", "items:\n  - count: 18446744073709551615\n", `f.yaml:2:12: items[0].count: integer "18446744073709551615" out of range`},
		{"scalar type", "items:\n  - wait: soon\n", `f.yaml:2:11: items[0].wait: want a duration, got "soon"`},
		{"mapping for a scalar type", "items:\n  - wait: {s: 1}\n", `f.yaml:2:11: items[0].wait: want a single value, got a mapping`},
		{"mapping for a list", "items: {a: 1}\n", `f.yaml:1:8: items: want a list, got a mapping`},
		{"second document", "env: {}\n---\nenv: {}\n", `f.yaml:2:1: only one YAML document is allowed`},
		{"syntax: unclosed flow list", "env: {}\nitems: [1, 2\nother: 3\n", `f.yaml:3:1: did not find expected ',' or ']'`},
		{"syntax: bad indentation", "items:\n  - name: x\n    count: 1\n   on: true\n", `f.yaml:4:4: did not find expected '-' indicator`},
		{"syntax: stray bracket", "env: [1, 2]]\n", `f.yaml:1:12: did not find expected key`},
		{"syntax: tab", "env:\n\tA: x\n", `f.yaml:2:1: found character that cannot start any token`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			_, err := Decode("f.yaml", []byte(tc.yaml), &d, Options{Scalar: scalar})
			ye, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("Decode = %v, want an *Error", err)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n  %s\nwant\n  %s", err, tc.want)
			}
			if ye.Line == 0 || ye.Column == 0 {
				t.Errorf("error has no line and column: %+v", ye)
			}
		})
	}
}

func TestDecodeNeedsPointer(t *testing.T) {
	var d doc
	for _, out := range []any{d, (*doc)(nil), nil} {
		if _, err := Decode("f.yaml", []byte("env: {}\n"), out, Options{}); err == nil || !strings.Contains(err.Error(), "non-nil pointer") {
			t.Errorf("Decode into %T = %v, want a non-nil pointer error", out, err)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "f", Line: 2, Column: 3, Field: "a.b", Msg: "bad"}, "f:2:3: a.b: bad"},
		{Error{File: "f", Line: 2, Msg: "bad"}, "f:2: bad"},
		{Error{File: "f", Msg: "bad"}, "f: bad"},
		{Error{Msg: "bad"}, "bad"},
	}
	for _, tc := range tests {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v.Error() = %q, want %q", tc.e, got, tc.want)
		}
	}
}
