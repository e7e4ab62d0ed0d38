package htype

import (
	"math"
	"math/big"
	"strconv"
)

// ValueKind is the JSON kind of a [Value].
type ValueKind uint8

// The JSON kinds.
const (
	Null ValueKind = iota
	Boolean
	Number
	String
	Array
	Object
)

// Member is one key of a JSON object, in document order.
type Member struct {
	Key   string
	Value Value
}

// Value is a parsed JSON value. It keeps object key order, and whether a
// number was an integer literal (kept exactly, any size) or a float
// (float64). The zero Value is JSON null. Values are immutable; the slices
// returned by accessors must not be modified.
type Value struct {
	kind    ValueKind
	b       bool
	s       string  // string contents, or the canonical integer literal
	f       float64 // float value (also set for integers, rounded)
	isFloat bool
	items   []Value
	members []Member
}

// NullValue, and the constructors below, build Values from Go data.
func NullValue() Value { return Value{} }

// BoolValue returns the JSON boolean b.
func BoolValue(b bool) Value { return Value{kind: Boolean, b: b} }

// StringValue returns the JSON string s.
func StringValue(s string) Value { return Value{kind: String, s: s} }

// IntValue returns the JSON integer i.
func IntValue(i int64) Value {
	return Value{kind: Number, s: strconv.FormatInt(i, 10), f: float64(i)}
}

// FloatValue returns the JSON float f (rendered with a ".0" when integral).
func FloatValue(f float64) Value { return Value{kind: Number, f: f, isFloat: true} }

// ArrayValue returns a JSON array of items (not copied).
func ArrayValue(items []Value) Value { return Value{kind: Array, items: items} }

// ObjectValue returns a JSON object of members (not copied). Later
// duplicates of a key replace the earlier value in its first position, as
// Python's dict does.
func ObjectValue(members []Member) Value {
	return Value{kind: Object, members: dedupe(members)}
}

func dedupe(ms []Member) []Member {
	if len(ms) < 2 {
		return ms
	}
	var seen map[string]int
	out := ms[:0:0]
	for _, m := range ms {
		if seen == nil {
			seen = make(map[string]int, len(ms))
		}
		if i, ok := seen[m.Key]; ok {
			out[i].Value = m.Value
			continue
		}
		seen[m.Key] = len(out)
		out = append(out, m)
	}
	return out
}

// Kind returns the JSON kind of v.
func (v Value) Kind() ValueKind { return v.kind }

// Bool returns the boolean of a Boolean value.
func (v Value) Bool() bool { return v.b }

// Str returns the contents of a String value.
func (v Value) Str() string { return v.s }

// IsFloat reports whether a Number was written as a float (with a fraction
// or an exponent) rather than as an integer.
func (v Value) IsFloat() bool { return v.isFloat }

// Float returns a Number as a float64 (integers are rounded).
func (v Value) Float() float64 { return v.f }

// IntLiteral returns the decimal digits of an integer Number.
func (v Value) IntLiteral() string { return v.s }

// Items returns the elements of an Array.
func (v Value) Items() []Value { return v.items }

// Members returns the keys and values of an Object in order.
func (v Value) Members() []Member { return v.members }

// Get returns the value of key in an Object.
func (v Value) Get(key string) (Value, bool) {
	for _, m := range v.members {
		if m.Key == key {
			return m.Value, true
		}
	}
	return Value{}, false
}

// isIntegral reports whether a Number has an integral value (Python's
// x % 1 == 0), true for every integer literal.
func (v Value) isIntegral() bool {
	if !v.isFloat {
		return true
	}
	return !math.IsInf(v.f, 0) && !math.IsNaN(v.f) && v.f == math.Trunc(v.f)
}

// numKey returns a string equal for two Numbers iff they are equal in
// value (Python semantics: 1 == 1.0, 10**20 == 1e20).
func (v Value) numKey() string {
	if !v.isFloat {
		return v.s
	}
	if v.isIntegral() {
		bf := new(big.Float).SetFloat64(v.f)
		bi, _ := bf.Int(nil)
		return bi.String()
	}
	return "f" + strconv.FormatFloat(v.f, 'g', -1, 64)
}

// primKey is the identity of a primitive option under JSON equality:
// numbers by value, booleans distinct from numbers.
func (v Value) primKey() string {
	switch v.kind {
	case Boolean:
		if v.b {
			return "btrue"
		}
		return "bfalse"
	case Number:
		return "n" + v.numKey()
	case String:
		return "s" + v.s
	}
	return ""
}

// PyEqual reports whether a and b are equal under Python's == on the
// values json.loads produces: numbers compare by value, true == 1 and
// false == 0, objects compare as unordered dicts.
func PyEqual(a, b Value) bool { return equal(a, b, true) }

// JSONEqual reports whether a and b are equal as JSON values: like
// [PyEqual] (numbers by value, objects unordered) except that booleans
// never equal numbers.
func JSONEqual(a, b Value) bool { return equal(a, b, false) }

// equal compares a and b with numbers by value and objects unordered; with
// py, booleans equal the numbers 1 and 0, as in Python.
func equal(a, b Value, py bool) bool {
	if py {
		an, aok := pyNum(a)
		bn, bok := pyNum(b)
		if aok || bok {
			return aok && bok && an == bn
		}
	}
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case Null:
		return true
	case Boolean:
		return a.b == b.b
	case Number:
		return a.numKey() == b.numKey()
	case String:
		return a.s == b.s
	case Array:
		if len(a.items) != len(b.items) {
			return false
		}
		for i := range a.items {
			if !equal(a.items[i], b.items[i], py) {
				return false
			}
		}
		return true
	case Object:
		if len(a.members) != len(b.members) {
			return false
		}
		for _, m := range a.members {
			o, ok := b.Get(m.Key)
			if !ok || !equal(m.Value, o, py) {
				return false
			}
		}
		return true
	}
	return false
}

// pyNum gives numbers and booleans a common key (bool is an int in Python).
func pyNum(v Value) (string, bool) {
	switch v.kind {
	case Boolean:
		if v.b {
			return "1", true
		}
		return "0", true
	case Number:
		return v.numKey(), true
	}
	return "", false
}
