package server

import (
	"testing"

	"github.com/heksher-go/heksher/internal/htype"
)

// TestDeclaredDefaults pins the reference's value check on declared
// defaults for every kind of type, and the normalised type string and the
// default as stored (number kinds kept: 3.0 stays 3.0).
func TestDeclaredDefaults(t *testing.T) {
	tests := []struct {
		typ, def string
		stored   string // normalised type when accepted; "" = refused
		msg      string // the __root__ message when refused
	}{
		{"int", "3", "int", ""},
		{"int", "3.0", "int", ""},
		{"int", "-0", "int", ""},
		{"int", "3.5", "", "type (int) and default value (3.5) must match"},
		{"int", "true", "", "type (int) and default value (True) must match"},
		{"int", `"3"`, "", "type (int) and default value (3) must match"},
		{"float", "1", "float", ""},
		{"float", "1e20", "float", ""},
		{"float", "false", "", "type (float) and default value (False) must match"},
		{"str", `""`, "str", ""},
		{"str", `"é\u0000"`, "str", ""},
		{"str", "1", "", "type (str) and default value (1) must match"},
		{"bool", "false", "bool", ""},
		{"bool", "0", "", "type (bool) and default value (0) must match"},
		{"int", "null", "", "type (int) and default value (None) must match"},
		// Enum and Flags over mixed primitives: JSON equality, true is not 1.
		{`Enum[1,"a",true]`, "1.0", `Enum["a",1,true]`, ""},
		{`Enum[1,"a",true]`, "true", `Enum["a",1,true]`, ""},
		{`Enum[true]`, "1", "", "type (Enum[true]) and default value (1) must match"},
		{`Enum[1]`, `"1"`, "", "type (Enum[1]) and default value (1) must match"},
		{`Enum[1,2]`, "[1]", "", "type (Enum[1,2]) and default value ([1]) must match"},
		{`Enum[]`, "1", "", "type (Enum[]) and default value (1) must match"},
		{`Flags[]`, "[]", "Flags[]", ""},
		{`Flags[1,"a",true, 2.5]`, `["a",2.5,true]`, `Flags["a",1,2.5,true]`, ""},
		// Repetition is checked with Python equality: true repeats 1.
		{`Flags[1,"a",true]`, "[true,1]", "", `type (Flags["a",1,true]) and default value ([True, 1]) must match`},
		{`Flags[1,2]`, "[1,1.0]", "", "type (Flags[1,2]) and default value ([1, 1.0]) must match"},
		{`Flags[1,2]`, "[3]", "", "type (Flags[1,2]) and default value ([3]) must match"},
		{`Flags["a","b"]`, `"ab"`, "", `type (Flags["a","b"]) and default value (ab) must match`},
		{`Flags[1,2]`, "[[1]]", "", "type (Flags[1,2]) and default value ([[1]]) must match"},
		// Generics, nested.
		{"Sequence<int>", "[]", "Sequence<int>", ""},
		{"Sequence < Mapping<int> >", `[{"a":1,"b":2.0},{}]`, "Sequence<Mapping<int>>", ""},
		{"Mapping<Sequence<Enum[1,2.5]>>", `{"a":[1,2.5,1.0],"b":[]}`, "Mapping<Sequence<Enum[1,2.5]>>", ""},
		{"Mapping<Flags[\"x\"]>", `{"k":["x"]}`, `Mapping<Flags["x"]>`, ""},
		{"Sequence<Sequence<bool>>", "[[true],[1]]", "", "type (Sequence<Sequence<bool>>) and default value ([[True], [1]]) must match"},
		{"Mapping<str>", `{"a":"x","b":null}`, "", "type (Mapping<str>) and default value ({'a': 'x', 'b': None}) must match"},
		{"Mapping<int>", "[1]", "", "type (Mapping<int>) and default value ([1]) must match"},
		{"Sequence<int>", `{"a":1}`, "", "type (Sequence<int>) and default value ({'a': 1}) must match"},
	}
	for _, tc := range tests {
		t.Run(tc.typ+" "+tc.def, func(t *testing.T) {
			_, srv := startEngine(t, Options{ContextFeatures: []string{"user"}})
			body := `{"name":"s","configurable_features":["user"],"type":` + jsonString(tc.typ) + `,"default_value":` + tc.def + `}`
			if tc.stored == "" {
				runSteps(t, srv, []step{{method: "POST", path: "/api/v1/settings/declare", body: body, status: 422,
					want: `{"detail":[{"loc":["body","__root__"],"msg":` + jsonString(tc.msg) + `,"type":"type_error"}]}`}})
				return
			}
			runSteps(t, srv, []step{
				{method: "POST", path: "/api/v1/settings/declare", body: body, status: 200, want: created},
				{method: "POST", path: "/api/v1/settings/declare", body: body, status: 200, want: uptodate},
				queryStep("/api/v1/query", `{"settings":{"s":{"default_value":`+compact(t, tc.def)+`,"rules":[]}}}`),
				{method: "GET", path: "/api/v1/settings", status: 200,
					want: `{"settings":[{"name":"s","type":` + jsonString(tc.stored) + `,"default_value":` + compact(t, tc.def) + `,"version":"1.0"}]}`},
			})
		})
	}
}

func jsonString(s string) string { return string(htype.AppendJSONString(nil, s)) }

// compact renders a JSON literal the way the server's answers do.
func compact(t *testing.T, lit string) string {
	t.Helper()
	v, err := htype.ParseValue([]byte(lit))
	if err != nil {
		t.Fatal(err)
	}
	return string(v.AppendJSON(nil))
}
