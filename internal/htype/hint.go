package htype

import (
	"strings"

	"github.com/heksher-go/heksher/internal/suggest"
)

// typeNames are the type keywords, in the order a hint lists them.
var typeNames = []string{"int", "float", "str", "bool", "Enum", "Flags", "Sequence", "Mapping"}

// typeAliases are names other languages and libraries use for Heksher's
// types; lower case.
var typeAliases = map[string]string{
	"integer": "int", "long": "int", "i64": "int", "i32": "int", "int64": "int", "int32": "int",
	"double": "float", "number": "float", "decimal": "float", "float64": "float", "f64": "float",
	"string": "str", "text": "str",
	"boolean": "bool",
	"list":    "Sequence", "array": "Sequence", "seq": "Sequence", "slice": "Sequence", "tuple": "Sequence",
	"map": "Mapping", "dict": "Mapping", "object": "Mapping", "hash": "Mapping",
	"set": "Flags",
}

// Suggest returns the type string that s, which [Parse] refuses, probably
// meant: a misspelt or differently cased keyword ("Int", "enum[…]",
// "integer", "strr"), another language's name for it ("string",
// "list<int>"), square brackets on a generic ("Sequence[int]") or stray
// whitespace, also inside a generic. It returns "" when it has no
// suggestion, or when s parses.
func Suggest(s string) string {
	if _, err := Parse(s); err == nil {
		return ""
	}
	if t, ok := fixType(s, 0); ok && t != s {
		return t
	}
	return ""
}

// fixType returns a corrected s that parses.
func fixType(s string, depth int) (string, bool) {
	if depth > 8 {
		return "", false
	}
	if _, err := Parse(s); err == nil {
		return s, true
	}
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] == '_' || t[i] >= 'a' && t[i] <= 'z' || t[i] >= 'A' && t[i] <= 'Z' || t[i] >= '0' && t[i] <= '9') {
		i++
	}
	head, rest := t[:i], strings.TrimSpace(t[i:])
	if head == "" {
		return "", false
	}
	kw, ok := keyword(head)
	if !ok {
		return "", false
	}
	var cand string
	switch kw {
	case "int", "float", "str", "bool":
		if rest != "" {
			return "", false
		}
		cand = kw
	case "Enum", "Flags":
		cand = kw + rest
	default: // Sequence, Mapping
		if len(rest) < 2 {
			return "", false
		}
		open, last := rest[0], rest[len(rest)-1]
		if (open != '<' && open != '[' && open != '(') || (last != '>' && last != ']' && last != ')') {
			return "", false
		}
		inner, ok := fixType(strings.TrimSpace(rest[1:len(rest)-1]), depth+1)
		if !ok {
			return "", false
		}
		cand = kw + "<" + inner + ">"
	}
	if _, err := Parse(cand); err != nil {
		return "", false
	}
	return cand, true
}

// keyword returns the type keyword that head, a refused one, stands for.
func keyword(head string) (string, bool) {
	for _, k := range typeNames {
		if head == k {
			return k, true
		}
	}
	if k, ok := typeAliases[strings.ToLower(head)]; ok {
		return k, true
	}
	best := suggest.Rank(head, typeNames)[0]
	if suggest.Close(head, best) {
		return best, true
	}
	return "", false
}

// Hint explains how to fix the type string s that [Parse] refused: the
// suggestion of [Suggest] if there is one, then the forms Heksher accepts,
// closest first, e.g. `did you mean "int"? valid types: int, Enum[…], …`.
// It returns "" for a string that parses.
func Hint(s string) string {
	if _, err := Parse(s); err == nil {
		return ""
	}
	forms := map[string]string{
		"int": "int", "float": "float", "str": "str", "bool": "bool",
		"Enum": `Enum["a","b"]`, "Flags": `Flags["a","b"]`, "Sequence": "Sequence<T>", "Mapping": "Mapping<T>",
	}
	head := strings.TrimSpace(s)
	if i := strings.IndexAny(head, "[<( "); i >= 0 {
		head = head[:i]
	}
	ranked := suggest.Rank(head, typeNames)
	listed := make([]string, len(ranked))
	for i, k := range ranked {
		listed[i] = forms[k]
	}
	msg := "valid types: " + strings.Join(listed, ", ")
	if fix := Suggest(s); fix != "" {
		return "did you mean " + quote(fix) + "? " + msg
	}
	return msg
}

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}
