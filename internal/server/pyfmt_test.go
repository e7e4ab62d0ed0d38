package server

import (
	"testing"

	"github.com/heksher-go/heksher/internal/htype"
)

func TestPythonFormatting(t *testing.T) {
	tests := []struct {
		name, json, str, repr string
	}{
		{"string", `"abc"`, "abc", "'abc'"},
		{"quote", `"it's"`, "it's", `"it's"`},
		{"both quotes", `"'\""`, `'"`, `'\'"'`},
		{"control", `"a\nb\u0001"`, "a\nb\x01", `'a\nb\x01'`},
		{"non-ascii", `"é"`, "é", "'é'"},
		{"float", `1e20`, "1e+20", "1e+20"},
		{"small float", `0.00001`, "1e-05", "1e-05"},
		{"whole float", `3.0`, "3.0", "3.0"},
		{"bool", `true`, "True", "True"},
		{"null", `null`, "None", "None"},
		{"list", `["a",1,[false]]`, "['a', 1, [False]]", "['a', 1, [False]]"},
		{"dict", `{"x":[1,2.5],"y":{}}`, "{'x': [1, 2.5], 'y': {}}", "{'x': [1, 2.5], 'y': {}}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := htype.ParseValue([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			if got := pyStr(v); got != tc.str {
				t.Errorf("pyStr = %q, want %q", got, tc.str)
			}
			if got := pyRepr(v); got != tc.repr {
				t.Errorf("pyRepr = %q, want %q", got, tc.repr)
			}
		})
	}
	if got := pyStrSet([]string{"b", "a"}); got != "{'a', 'b'}" {
		t.Errorf("pyStrSet = %s", got)
	}
	if got := pyIntList([]int64{4, 2}); got != "[4, 2]" {
		t.Errorf("pyIntList = %s", got)
	}
}
