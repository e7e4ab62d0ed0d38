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
	t, reason := parse(s, 0)
	if t == nil {
		return nil, &TypeError{Input: s, Reason: reason}
	}
	return t, nil
}

func parse(s string, depth int) (*Type, string) {
	if depth > maxTypeDepth {
		return nil, "nested too deeply"
	}
	if p, ok := primitives[s]; ok {
		return p, ""
	}
	for _, k := range [...]Kind{Flags, Enum} {
		kw := k.String()
		if strings.HasPrefix(s, kw) {
			return parseOptions(k, strings.TrimLeftFunc(s[len(kw):], unicode.IsSpace))
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
		elem, reason := parse(strings.TrimSpace(rest), depth+1)
		if elem == nil {
			return nil, reason
		}
		return newGeneric(k, elem), ""
	}
	return nil, "unknown type"
}

func parseOptions(kind Kind, rest string) (*Type, string) {
	v, err := ParseValue([]byte(rest))
	if err != nil {
		return nil, kind.String() + " options: " + err.(*SyntaxError).PythonMessage()
	}
	if v.kind != Array {
		return nil, kind.String() + " options must be a JSON array"
	}
	for _, it := range v.items {
		switch it.kind {
		case Boolean, Number, String:
		default:
			return nil, kind.String() + " options must be strings, numbers or booleans"
		}
	}
	return newOptioned(kind, v.items), ""
}
