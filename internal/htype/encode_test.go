package htype

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
)

func TestAppendJSON(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, "null"},
		{"bool", true, "true"},
		{"int", 42, "42"},
		{"uint64", uint64(math.MaxUint64), "18446744073709551615"},
		{"float integral", 3.0, "3.0"},
		{"float", 2.5, "2.5"},
		{"float big", 1e20, "1e20"},
		{"float 1e16", 1e16, "1e16"},
		{"float 1e15", 1e15, "1000000000000000.0"},
		{"float tiny", 1.5e-7, "1.5e-7"},
		{"float 1e-5", 1e-5, "0.00001"},
		{"float 1e-6", 1e-6, "1e-6"},
		{"float negative zero", math.Copysign(0, -1), "-0.0"},
		{"float inf", math.Inf(1), "null"},
		{"float32", float32(0.1), "0.1"},
		{"string", "a\"b\\c\n\x01é<>&\u2028", `"a\"b\\c\n\u0001é<>&` + "\u2028" + `"`},
		{"slice", []any{1, "x", 1.0}, `[1,"x",1.0]`},
		{"strings", []string{"a", "b"}, `["a","b"]`},
		{"map sorted", map[string]any{"b": 1, "a": []any{}}, `{"a":[],"b":1}`},
		{"number", json.Number("1E20"), "1e20"},
		{"raw keeps order", json.RawMessage(`{ "z" : 1, "a" : [ 1.50 , -0 ] }`), `{"z":1,"a":[1.5,0]}`},
		{"raw duplicate keys", json.RawMessage(`{"a":1,"b":2,"a":3}`), `{"a":3,"b":2}`},
		{"struct", struct {
			A int     `json:"a"`
			B float64 `json:"b"`
		}{1, 2.5}, `{"a":1,"b":2.5}`},
		{"nil pointer", (*int)(nil), "null"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendJSON(nil, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("AppendJSON(%#v) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
	if _, err := AppendJSON(nil, json.RawMessage("{")); err == nil {
		t.Fatal("invalid raw message accepted")
	}
	if _, err := AppendJSON(nil, make(chan int)); err == nil {
		t.Fatal("channel accepted")
	}
}

func TestParseValueErrors(t *testing.T) {
	tests := []struct {
		name, in, msg string
		pos           int
	}{
		{"not json", "not json", "Expecting value", 0},
		{"empty", "", "Expecting value", 0},
		{"extra", `{} x`, "Extra data", 3},
		{"property", `{1:2}`, "Expecting property name enclosed in double quotes", 1},
		{"colon", `{"a" 1}`, "Expecting ':' delimiter", 5},
		{"comma", `[1 2]`, "Expecting ',' delimiter", 3},
		{"unterminated", `"abc`, "Unterminated string starting at", 0},
		{"control", "\"a\x01\"", "Invalid control character at", 2},
		{"escape", `"\x"`, "Invalid \\escape", 1},
		{"trailing comma", `[1,]`, "Expecting value", 3},
		{"chars not bytes", `"é" x`, "Extra data", 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseValue([]byte(tc.in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseValue(%q) = %v", tc.in, err)
			}
			if se.Msg != tc.msg || se.Pos != tc.pos {
				t.Fatalf("ParseValue(%q) = %q at %d, want %q at %d", tc.in, se.Msg, se.Pos, tc.msg, tc.pos)
			}
		})
	}
}

func FuzzParseValue(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x"],"b":null}`, `1e20`, `"\ud83d\ude00"`, `[true,false]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseValue(b)
		if err != nil {
			return
		}
		out := v.AppendJSON(nil)
		v2, err := ParseValue(out)
		if err != nil {
			t.Fatalf("%q rendered as %q which does not parse: %v", b, out, err)
		}
		if string(v2.AppendJSON(nil)) != string(out) {
			t.Fatalf("unstable rendering of %q", b)
		}
	})
}

func TestAppendPythonJSON(t *testing.T) {
	v, err := ParseValue([]byte(`{"é":[1,1e20,1E-5,2.5,true,null,"x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"\u00e9": [1, 1e+20, 1e-05, 2.5, true, null, "x"]}`
	if got := string(AppendPythonJSON(nil, v)); got != want {
		t.Fatalf("AppendPythonJSON = %s, want %s", got, want)
	}
}

func TestParsePythonJSON(t *testing.T) {
	v, err := ParsePythonJSON([]byte(`[NaN, Infinity, -Infinity, -1]`))
	if err != nil {
		t.Fatal(err)
	}
	if got := v.String(); got != "[null,null,null,-1]" {
		t.Fatalf("rendered %s", got)
	}
	if _, err := ParseValue([]byte(`NaN`)); err == nil {
		t.Fatal("ParseValue accepted NaN")
	}
}
