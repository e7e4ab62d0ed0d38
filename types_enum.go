package heksher

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/heksher-go/heksher/internal/htype"
)

// EnumMember is one member of an [Enum] type: the Go value and its wire
// value, a JSON primitive (a string, a bool, any Go integer or float type, or
// a json.Number).
type EnumMember[T comparable] struct {
	Value T
	Wire  any
}

// Enum returns the type `Enum[…]` whose values are the members' Go values.
// The type string lists the members' wire values JSON-encoded and sorted as
// strings: members 0, 1, "c", 3.5 give `Enum["c",0,1,3.5]`.
//
// A server value converts to the member whose wire value is JSON-equal to it:
// numbers compare by value (1 equals 1.0), booleans only equal booleans.
//
// # Errors
//
// Reported by [Type.Err] and [NewSetting]: no members, a wire value that is
// not a JSON primitive, two members with JSON-equal wire values, or two
// members with the same Go value.
func Enum[T comparable](members ...EnumMember[T]) Type[T] {
	c := &enumConv[T]{byKey: make(map[string]T, len(members)), wire: make(map[T]htype.Value, len(members))}
	rendered := make([]string, 0, len(members))
	if len(members) == 0 {
		return Type[T]{err: invalid("Enum with no members"), conv: c}
	}
	for _, m := range members {
		v, err := primitiveValue(m.Wire)
		if err != nil {
			return Type[T]{err: invalid("Enum member %v: %v", m.Value, err), conv: c}
		}
		k := primKey(v)
		if _, dup := c.byKey[k]; dup {
			return Type[T]{err: invalid("Enum members with equal wire values %s", v), conv: c}
		}
		if _, dup := c.wire[m.Value]; dup {
			return Type[T]{err: invalid("Enum member %v listed twice", m.Value), conv: c}
		}
		c.byKey[k] = m.Value
		c.wire[m.Value] = v
		rendered = append(rendered, string(v.AppendJSON(nil)))
	}
	return Type[T]{str: optionString("Enum", rendered), conv: c}
}

type enumConv[T comparable] struct {
	byKey map[string]T
	wire  map[T]htype.Value
}

func (c *enumConv[T]) fromWire(v htype.Value) (T, []string, error) {
	if m, ok := c.byKey[primKey(v)]; ok {
		return m, nil, nil
	}
	var zero T
	return zero, nil, reject("value is not a valid enum member: %s", describeValue(v))
}

func (c *enumConv[T]) toWire(dst []byte, v T) ([]byte, error) {
	w, ok := c.wire[v]
	if !ok {
		return dst, invalid("%v is not an Enum member", v)
	}
	return w.AppendJSON(dst), nil
}

// optionString renders `Keyword[o1,o2,…]` with the options sorted as
// strings, as heksher-py renders them (docs/CONFORMANCE.md B21).
func optionString(keyword string, rendered []string) string {
	rendered = slices.Clone(rendered)
	slices.Sort(rendered)
	return keyword + "[" + strings.Join(rendered, ",") + "]"
}

// primitiveValue converts a Go primitive to a JSON value.
func primitiveValue(w any) (htype.Value, error) {
	switch x := w.(type) {
	case string:
		return htype.StringValue(x), nil
	case bool:
		return htype.BoolValue(x), nil
	case json.Number:
		v, err := htype.ParseValue([]byte(x))
		if err != nil || v.Kind() != htype.Number {
			return htype.Value{}, fmt.Errorf("json.Number %q is not a number", string(x))
		}
		return v, nil
	case float32:
		return floatValue(float64(x))
	case float64:
		return floatValue(x)
	}
	rv := reflect.ValueOf(w)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return htype.IntValue(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			v, _ := htype.ParseValue(strconv.AppendUint(nil, u, 10))
			return v, nil
		}
		return htype.IntValue(int64(u)), nil
	}
	return htype.Value{}, fmt.Errorf("wire value %v (%T) is not a JSON primitive", w, w)
}

func floatValue(f float64) (htype.Value, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return htype.Value{}, fmt.Errorf("wire value %v is not finite", f)
	}
	return htype.FloatValue(f), nil
}

// primKey is the identity of a primitive under JSON equality: numbers by
// value (1 ≡ 1.0), booleans distinct from numbers, strings exactly. Non
// primitives get keys no primitive has.
func primKey(v htype.Value) string {
	switch v.Kind() {
	case htype.Boolean:
		if v.Bool() {
			return "btrue"
		}
		return "bfalse"
	case htype.String:
		return "s" + v.Str()
	case htype.Number:
		if !v.IsFloat() {
			return "n" + v.IntLiteral()
		}
		f := v.Float()
		if !math.IsInf(f, 0) && !math.IsNaN(f) && f == math.Trunc(f) {
			bi, _ := new(big.Float).SetFloat64(f).Int(nil)
			return "n" + bi.String()
		}
		return "f" + strconv.FormatFloat(f, 'g', -1, 64)
	case htype.Null:
		return "null"
	}
	return "composite"
}
