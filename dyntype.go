package heksher

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/heksher-go/heksher/internal/htype"
)

// ParseType returns the type a Heksher type string denotes, for settings
// whose type is known only at run time (declared from configuration or on
// behalf of plugins). Values are handled as wire JSON: a setting of this type
// is a Setting[json.RawMessage], and it resolves exactly as fast as any
// other.
//
// The type string may be written as the server accepts it (whitespace after
// a keyword or inside the options, `Enum [ 3, 1 ,"x"]`); [Type.String]
// renders it the way the client declares types (`Enum["x",1,3]`). Enum and
// Flags may have options of any JSON primitive kind.
//
// Server values convert by heksher-py's rules (B21–B25), not by the
// server's validation: `3.0` is rejected for int; a Flags element that is not
// a member is dropped with a coercion; an element that a Sequence's element
// type rejects is dropped with a coercion; and so on. A coerced value is
// re-encoded without the dropped parts; a clean value is re-encoded
// compactly.
//
// # Errors
//
// An invalid type string (the error matches [ErrInvalidSetting] and wraps
// the parser's error).
func ParseType(typeString string) (Type[json.RawMessage], error) {
	ht, err := htype.Parse(typeString)
	if err != nil {
		return Type[json.RawMessage]{}, &invalidTypeError{input: typeString, err: err}
	}
	c := newDynConv(ht)
	return Type[json.RawMessage]{str: c.str, conv: c}, nil
}

type invalidTypeError struct {
	input string
	err   error
}

func (e *invalidTypeError) Error() string {
	return "heksher: invalid setting: type string " + strconv.Quote(e.input) + ": " + e.err.Error()
}

func (e *invalidTypeError) Unwrap() []error { return []error{ErrInvalidSetting, e.err} }

// dynConv converts wire JSON to wire JSON under a parsed type.
type dynConv struct {
	kind       htype.Kind
	str        string
	elem       *dynConv
	options    map[string]struct{} // Enum/Flags, by primKey
	allStrings bool                // Flags whose options are all strings
}

func newDynConv(t *htype.Type) *dynConv {
	c := &dynConv{kind: t.Kind()}
	switch t.Kind() {
	case htype.Enum, htype.Flags:
		opts := t.OptionValues()
		c.options = make(map[string]struct{}, len(opts))
		c.allStrings = true
		rendered := make([]string, 0, len(opts))
		for _, o := range opts {
			c.options[primKey(o)] = struct{}{}
			c.allStrings = c.allStrings && o.Kind() == htype.String
			rendered = append(rendered, string(o.AppendJSON(nil)))
		}
		c.str = optionString(t.Kind().String(), rendered)
	case htype.Sequence, htype.Mapping:
		c.elem = newDynConv(t.Elem())
		c.str = t.Kind().String() + "<" + c.elem.str + ">"
	default:
		c.str = t.Kind().String()
	}
	return c
}

func (c *dynConv) fromWire(v htype.Value) (json.RawMessage, []string, error) {
	out, coercions, err := c.convert(v)
	if err != nil {
		return nil, nil, err
	}
	return out.AppendJSON(nil), coercions, nil
}

// convert returns the converted value (v itself when clean).
func (c *dynConv) convert(v htype.Value) (htype.Value, []string, error) {
	switch c.kind {
	case htype.Int:
		if v.Kind() != htype.Number || v.IsFloat() {
			return v, nil, reject("expected int, got %s", describeValue(v))
		}
	case htype.Float:
		if v.Kind() != htype.Number {
			return v, nil, reject("expected float, got %s", describeValue(v))
		}
		if math.IsInf(v.Float(), 0) && v.IsFloat() {
			return v, nil, reject("float out of range")
		}
	case htype.Str:
		if v.Kind() != htype.String {
			return v, nil, reject("expected str, got %s", describeValue(v))
		}
	case htype.Bool:
		if v.Kind() != htype.Boolean {
			return v, nil, reject("expected bool, got %s", describeValue(v))
		}
	case htype.Enum:
		if _, ok := c.options[primKey(v)]; !ok {
			return v, nil, reject("value is not a valid enum member: %s", describeValue(v))
		}
	case htype.Flags:
		return c.convertFlags(v)
	case htype.Sequence:
		return c.convertSequence(v)
	case htype.Mapping:
		return c.convertMapping(v)
	}
	return v, nil, nil
}

func isPrimitive(v htype.Value) bool {
	switch v.Kind() {
	case htype.String, htype.Number, htype.Boolean:
		return true
	}
	return false
}

// convertFlags keeps members in the server's order, drops unknown members
// (coercion) and repeated members (a set holds each once).
func (c *dynConv) convertFlags(v htype.Value) (htype.Value, []string, error) {
	if v.Kind() != htype.Array {
		return v, nil, reject("expected array of flag names, got %s", describeValue(v))
	}
	items := v.Items()
	kept := make([]htype.Value, 0, len(items))
	seen := make(map[string]struct{}, len(items))
	var coercions []string
	for _, it := range items {
		if !isPrimitive(it) || (c.allStrings && it.Kind() != htype.String) {
			return v, nil, reject("expected string in flags, got %s", describeValue(it))
		}
		k := primKey(it)
		if _, ok := c.options[k]; !ok {
			coercions = append(coercions, "server sent a flag value not found in the python type ("+flagText(it)+")")
			continue
		}
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		kept = append(kept, it)
	}
	if len(kept) == len(items) {
		return v, coercions, nil
	}
	return htype.ArrayValue(kept), coercions, nil
}

func flagText(v htype.Value) string {
	if v.Kind() == htype.String {
		return v.Str()
	}
	return v.String()
}

func (c *dynConv) convertSequence(v htype.Value) (htype.Value, []string, error) {
	if v.Kind() != htype.Array {
		return v, nil, reject("expected array, got %s", describeValue(v))
	}
	items := v.Items()
	var out []htype.Value // nil until something differs from items
	var coercions []string
	for i, it := range items {
		e, cs, err := c.elem.convert(it)
		changed := err != nil || len(cs) > 0
		if changed && out == nil {
			out = append(make([]htype.Value, 0, len(items)), items[:i]...)
		}
		if err != nil {
			coercions = append(coercions, "failed to convert element "+strconv.Itoa(i)+": "+reasonOf(err))
			continue
		}
		for _, m := range cs {
			coercions = append(coercions, "element "+strconv.Itoa(i)+": "+m)
		}
		if out != nil {
			out = append(out, e)
		}
	}
	if out == nil {
		return v, nil, nil
	}
	return htype.ArrayValue(out), coercions, nil
}

func (c *dynConv) convertMapping(v htype.Value) (htype.Value, []string, error) {
	if v.Kind() != htype.Object {
		return v, nil, reject("expected object, got %s", describeValue(v))
	}
	members := v.Members()
	var out []htype.Member
	var coercions []string
	for i, m := range members {
		e, cs, err := c.elem.convert(m.Value)
		changed := err != nil || len(cs) > 0
		if changed && out == nil {
			out = append(make([]htype.Member, 0, len(members)), members[:i]...)
		}
		if err != nil {
			coercions = append(coercions, "failed to convert value for key "+m.Key+": "+reasonOf(err))
			continue
		}
		for _, s := range cs {
			coercions = append(coercions, m.Key+": "+s)
		}
		if out != nil {
			out = append(out, htype.Member{Key: m.Key, Value: e})
		}
	}
	if out == nil {
		return v, nil, nil
	}
	return htype.ObjectValue(out), coercions, nil
}

// toWire accepts a value only if it converts cleanly: a local default must
// be a value of the type as it is.
func (c *dynConv) toWire(dst []byte, raw json.RawMessage) ([]byte, error) {
	v, err := htype.ParseValue(raw)
	if err != nil {
		return dst, invalid("value %s is not JSON: %v", truncate(raw), err)
	}
	_, cs, err := c.convert(v)
	if err != nil {
		return dst, invalid("value %s is not a %s: %s", truncate(raw), c.str, reasonOf(err))
	}
	if len(cs) > 0 {
		return dst, invalid("value %s is not a %s: %s", truncate(raw), c.str, cs[0])
	}
	return v.AppendJSON(dst), nil
}

func truncate(raw []byte) string {
	if len(raw) > 64 {
		return string(raw[:61]) + "..."
	}
	return string(raw)
}
