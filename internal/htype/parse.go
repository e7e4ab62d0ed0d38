package htype

import (
	"strings"
	"unicode"
)

// maxTypeDepth bounds generic nesting in a type string.
const maxTypeDepth = 64

// Parse reads a Heksher type string, accepting what the reference server
// accepts:
//
//   - exactly "int", "float", "str" or "bool" (no surrounding whitespace);
//   - a string starting with "Flags" or "Enum", then optional whitespace,
//     then a JSON array of strings, numbers and booleans (whitespace allowed
//     inside and around it; the array may be empty);
//   - "Sequence" or "Mapping", optional whitespace, "<", a type (trimmed of
//     surrounding whitespace), ">" at the very end.
//
// Keywords are case-sensitive. Because Flags and Enum are prefix matches,
// "Flagsy[1]" is read as Flags and fails on its JSON.
//
// # Errors
//
// Every error is a *[TypeError] matching [ErrInvalidType].
func Parse(s string) (*Type, error) {
	t, fail := parse(s, 0)
	if t == nil {
		fail.Input = s
		return nil, fail
	}
	return t, nil
}

func parse(s string, depth int) (*Type, *TypeError) {
	if depth > maxTypeDepth {
		return nil, &TypeError{Part: s, Reason: "nested too deeply"}
	}
	if p, ok := primitives[s]; ok {
		return p, nil
	}
	for _, k := range [...]Kind{Flags, Enum} {
		kw := k.String()
		if strings.HasPrefix(s, kw) {
			t, fail := parseOptions(k, strings.TrimLeftFunc(s[len(kw):], unicode.IsSpace))
			if fail != nil {
				fail.Part = s
			}
			return t, fail
		}
	}
	for _, k := range [...]Kind{Sequence, Mapping} {
		kw := k.String()
		if !strings.HasPrefix(s, kw) {
			continue
		}
		rest := strings.TrimLeftFunc(s[len(kw):], unicode.IsSpace)
		if !strings.HasPrefix(rest, "<") {
			continue
		}
		// Python's `<(.*)>$`: "." excludes newlines and "$" also matches
		// before one final newline.
		rest = rest[1:]
		switch {
		case strings.HasSuffix(rest, ">\n"):
			rest = rest[:len(rest)-2]
		case strings.HasSuffix(rest, ">"):
			rest = rest[:len(rest)-1]
		default:
			continue
		}
		if strings.Contains(rest, "\n") {
			continue
		}
		elem, fail := parse(strings.TrimSpace(rest), depth+1)
		if elem == nil {
			return nil, fail
		}
		return newGeneric(k, elem), nil
	}
	return nil, &TypeError{Part: s, Reason: "unknown type", Cause: CauseUnknown}
}

func parseOptions(kind Kind, rest string) (*Type, *TypeError) {
	v, err := ParseValue([]byte(rest))
	if err != nil {
		var msg string
		if se, ok := err.(*SyntaxError); ok {
			msg = se.PythonMessage()
		}
		return nil, &TypeError{Reason: kind.String() + " options: " + msg, Cause: CauseOptionsJSON}
	}
	if v.kind != Array {
		return nil, &TypeError{Reason: kind.String() + " options must be a JSON array", Cause: CauseNotArray, Offending: v}
	}
	for _, it := range v.items {
		switch it.kind {
		case Boolean, Number, String:
		default:
			return nil, &TypeError{Reason: kind.String() + " options must be strings, numbers or booleans", Cause: CauseNotPrimitive, Offending: it}
		}
	}
	return newOptioned(kind, v.items), nil
}
