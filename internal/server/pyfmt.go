package server

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/heksher-go/heksher/internal/htype"
)

// The reference builds many messages with Python f-strings, so values show
// up as Python's str() and repr() of what json.loads returned. These helpers
// reproduce that formatting.

// pyStr is Python's str() of a JSON value.
func pyStr(v htype.Value) string {
	if v.Kind() == htype.String {
		return v.Str()
	}
	return pyRepr(v)
}

// pyRepr is Python's repr() of a JSON value.
func pyRepr(v htype.Value) string {
	var sb strings.Builder
	writePyRepr(&sb, v)
	return sb.String()
}

func writePyRepr(sb *strings.Builder, v htype.Value) {
	switch v.Kind() {
	case htype.Null:
		sb.WriteString("None")
	case htype.Boolean:
		if v.Bool() {
			sb.WriteString("True")
		} else {
			sb.WriteString("False")
		}
	case htype.Number:
		sb.WriteString(pyNumber(v))
	case htype.String:
		sb.WriteString(pyQuote(v.Str()))
	case htype.Array:
		sb.WriteByte('[')
		for i, it := range v.Items() {
			if i > 0 {
				sb.WriteString(", ")
			}
			writePyRepr(sb, it)
		}
		sb.WriteByte(']')
	case htype.Object:
		sb.WriteByte('{')
		for i, m := range v.Members() {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(pyQuote(m.Key))
			sb.WriteString(": ")
			writePyRepr(sb, m.Value)
		}
		sb.WriteByte('}')
	}
}

// pyNumber renders a number as Python's repr of the int or float.
func pyNumber(v htype.Value) string {
	if !v.IsFloat() {
		return v.IntLiteral()
	}
	return string(htype.AppendPythonJSON(nil, v)) // Python's json writes floats with repr
}

// pyQuote is Python's repr() of a str.
func pyQuote(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var sb strings.Builder
	sb.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&sb, `\x%02x`, r)
		case r < 0x80 || unicode.IsPrint(r):
			sb.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&sb, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			fmt.Fprintf(&sb, `\U%08x`, r)
		}
	}
	sb.WriteByte(q)
	return sb.String()
}

// pyStrList renders names as a Python list of str: ['a', 'b'].
func pyStrList(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = pyQuote(n)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pyStrSet renders names as a Python set of str: {'a', 'b'}. Python's set
// order depends on string hashes; sorting keeps the output deterministic.
func pyStrSet(names []string) string {
	s := slices.Clone(names)
	slices.Sort(s)
	parts := make([]string, len(s))
	for i, n := range s {
		parts[i] = pyQuote(n)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// pyIntList renders ids as a Python list: [1, 2].
func pyIntList(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pyTypeName is the Python type name of what json.loads returns for v.
func pyTypeName(v htype.Value) string {
	switch v.Kind() {
	case htype.Boolean:
		return "bool"
	case htype.Number:
		if v.IsFloat() {
			return "float"
		}
		return "int"
	case htype.String:
		return "str"
	case htype.Array:
		return "list"
	case htype.Object:
		return "dict"
	}
	return "NoneType"
}
