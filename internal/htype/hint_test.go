package htype

import (
	"strings"
	"testing"
)

func TestSuggest(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "alias integer", in: "integer", want: "int"},
		{name: "alias string", in: "string", want: "str"},
		{name: "alias boolean", in: "boolean", want: "bool"},
		{name: "case", in: "Int", want: "int"},
		{name: "typo", in: "flaot", want: "float"},
		{name: "enum lower case", in: `enum["a","b"]`, want: `Enum["a","b"]`},
		{name: "enum misspelt", in: `Enmu["a"]`, want: `Enum["a"]`},
		{name: "generic brackets", in: "Sequence[int]", want: "Sequence<int>"},
		{name: "list of integer", in: "list<integer>", want: "Sequence<int>"},
		{name: "nested", in: "Mapping<Sequence<strr>>", want: "Mapping<Sequence<str>>"},
		{name: "whitespace", in: " int ", want: "int"},
		{name: "valid", in: "int", want: ""},
		{name: "nothing close", in: "frobnicate", want: ""},
		{name: "primitive with junk", in: "int[3]", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Suggest(tc.in); got != tc.want {
				t.Fatalf("Suggest(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestHint(t *testing.T) {
	if got := Hint("integer"); !strings.HasPrefix(got, `did you mean "int"? valid types: int, `) {
		t.Fatalf("Hint(integer) = %q", got)
	}
	if got := Hint(`Enmu["a"]`); !strings.HasPrefix(got, `did you mean "Enum[\"a\"]"? valid types: Enum[`) {
		t.Fatalf("Hint(Enmu) = %q", got)
	}
	if got := Hint("frobnicate"); !strings.HasPrefix(got, "valid types: ") || !strings.Contains(got, "Mapping<T>") {
		t.Fatalf("Hint(frobnicate) = %q", got)
	}
	if got := Hint("int"); got != "" {
		t.Fatalf("Hint(int) = %q, want empty", got)
	}
}
