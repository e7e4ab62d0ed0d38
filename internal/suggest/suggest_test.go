package suggest

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{name: "equal", a: "lookup", b: "lookup", want: 0},
		{name: "swap", a: "lookpu", b: "lookup", want: 1},
		{name: "insert", a: "get_seting", b: "get_setting", want: 1},
		{name: "substitute", a: "integer", b: "int", want: 4},
		{name: "empty", a: "", b: "abc", want: 3},
		{name: "long tails count per byte", a: strings.Repeat("a", 100), b: strings.Repeat("a", 64), want: 36},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Distance(tc.a, tc.b); got != tc.want {
				t.Fatalf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestHint(t *testing.T) {
	valid := []string{"get_setting", "set_error", "log", "log_enabled", "declare", "subscribe"}
	tests := []struct {
		name, word, want string
	}{
		{name: "close", word: "get_settign", want: "did you mean get_setting? valid: get_setting, set_error, "},
		{name: "case", word: "Declare", want: "did you mean declare? valid: declare, "},
		{name: "nothing close lists all", word: "frobnicate", want: "valid: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Hint(tc.word, valid, 0)
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("Hint(%q) = %q, want prefix %q", tc.word, got, tc.want)
			}
			for _, v := range valid {
				if !strings.Contains(got, v) {
					t.Fatalf("Hint(%q) = %q lacks %q", tc.word, got, v)
				}
			}
		})
	}
	if got := Hint("x", valid, 2); !strings.HasSuffix(got, ", …") {
		t.Fatalf("Hint with max 2 = %q, want a trailing ellipsis", got)
	}
}
