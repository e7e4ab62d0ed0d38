package portable

import (
	"encoding/json"
	"testing"
)

// agrees checks that where decodeFast decodes b into a T, encoding/json
// decodes it too, to the same value.
func agrees[T comparable](t *testing.T, b []byte) {
	t.Helper()
	var fast, slow T
	if !decodeFast(b, &fast) {
		return
	}
	if err := json.Unmarshal(b, &slow); err != nil {
		t.Errorf("%q into %T: decodeFast took %v, encoding/json refuses: %v", b, fast, fast, err)
		return
	}
	if fast != slow {
		t.Errorf("%q into %T: decodeFast %v, encoding/json %v", b, fast, fast, slow)
	}
}

func checkAll(t *testing.T, b []byte) {
	agrees[int](t, b)
	agrees[int64](t, b)
	agrees[string](t, b)
	agrees[bool](t, b)
}

// Get's fast path decodes the common values without encoding/json, and
// never differently from it.
func TestDecodeFast(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fast bool // decodeFast takes it into an int, a string or a bool
	}{
		{"0", true}, {"7", true}, {"-7", true}, {"123456789012345678", true}, {"-0", true},
		{"1234567890123456789", false}, {"007", false}, {"+7", false}, {"7.0", false}, {"1e3", false},
		{"", false}, {"-", false}, {" 7", false},
		{`"hello"`, true}, {`""`, true}, {`"a\"b"`, false}, {`"é"`, false}, {`"a` + "\t" + `b"`, false}, {`"`, false},
		{"true", true}, {"false", true}, {"True", false}, {"null", false},
	} {
		checkAll(t, []byte(tc.in))
		var i int
		var s string
		var b bool
		if got := decodeFast([]byte(tc.in), &i) || decodeFast([]byte(tc.in), &s) || decodeFast([]byte(tc.in), &b); got != tc.fast {
			t.Errorf("%q: fast path %t, want %t", tc.in, got, tc.fast)
		}
	}
	var f float64
	if decodeFast([]byte("1"), &f) {
		t.Error("decodeFast took a float64")
	}
}

func FuzzDecodeFast(f *testing.F) {
	for _, s := range []string{"0", "-12", `"x"`, "true", `"a\\n"`, "9223372036854775807"} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkAll)
}
