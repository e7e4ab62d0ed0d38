package heksher

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/heksher-go/heksher/internal/htype"
)

// Type is a Heksher setting type whose values are Go values of type T. Build
// one with [Int], [Float], [Str], [Bool], [Enum], [Flags], [Sequence],
// [Mapping] or, for a type known only at run time, [ParseType].
//
// A Type is immutable and safe for concurrent use. The zero Type is invalid:
// [NewSetting] rejects it. A constructor given invalid input (for example two
// Enum members with the same wire value) still returns a Type; the error is
// reported by [Type.Err] and by [NewSetting], so that types can be built in
// package-level variable declarations.
type Type[T any] struct {
	str  string
	err  error
	conv converter[T]
}

// converter is the behaviour behind a Type.
type converter[T any] interface {
	// fromWire converts a parsed server value (heksher-py's rules): the value and
	// its coercion messages, or a rejection (*ConversionError).
	fromWire(v htype.Value) (T, []string, error)
	// toWire appends the wire form of v (its JSON), or fails when v is
	// not a value of the type.
	toWire(dst []byte, v T) ([]byte, error)
}

// String returns the type string the client declares (B21–B25), e.g.
// `int` or `Sequence<Enum["blue","green","red"]>`.
func (t Type[T]) String() string { return t.str }

// Err returns the error found while building the type, or nil. It matches
// [ErrInvalidSetting].
func (t Type[T]) Err() error {
	if t.conv == nil && t.err == nil {
		return invalid("zero Type")
	}
	return t.err
}

// FromWire converts a server value (wire JSON) to a value of the type, with
// heksher-py's rules (B21–B25, B45–B51). It returns the value and the coercion
// messages (empty for a clean conversion), or an error matching
// [ErrRejected] when the value is rejected.
func (t Type[T]) FromWire(raw json.RawMessage) (T, []string, error) {
	var zero T
	if err := t.Err(); err != nil {
		return zero, nil, err
	}
	v, err := htype.ParseValue(raw)
	if err != nil {
		return zero, nil, &ConversionError{Reason: "value is not JSON: " + err.Error(), Err: err}
	}
	return t.conv.fromWire(v)
}

// ToWire returns the wire JSON of v, or an error matching
// [ErrInvalidSetting] when v is not a value of the type (an Enum value that
// is not a member, a flag name that is not declared).
func (t Type[T]) ToWire(v T) (json.RawMessage, error) {
	if err := t.Err(); err != nil {
		return nil, err
	}
	return t.conv.toWire(nil, v)
}

// kindName is used in rejection messages: "expected int, got …".
func describeValue(v htype.Value) string {
	s := v.String()
	if len(s) > 64 {
		s = s[:61] + "..."
	}
	return s
}

// Int returns the type `int`: a JSON integer literal, as int64. A number
// written with a fraction or an exponent (even `3.0`) is rejected, as the
// reference client does, and so is an integer outside the int64 range.
func Int() Type[int64] { return Type[int64]{str: "int", conv: intConv{}} }

type intConv struct{}

func (intConv) fromWire(v htype.Value) (int64, []string, error) {
	if v.Kind() != htype.Number || v.IsFloat() {
		return 0, nil, reject("expected int, got %s", describeValue(v))
	}
	i, err := strconv.ParseInt(v.IntLiteral(), 10, 64)
	if err != nil {
		return 0, nil, reject("int %s out of range", v.IntLiteral())
	}
	return i, nil, nil
}

func (intConv) toWire(dst []byte, v int64) ([]byte, error) { return strconv.AppendInt(dst, v, 10), nil }

// Float returns the type `float`: any JSON number, as float64. Its wire form
// keeps a ".0" on integral values (`5.0`). A number too large for float64
// (e.g. 1e1000) is rejected: it has no JSON form to hand back.
func Float() Type[float64] { return Type[float64]{str: "float", conv: floatConv{}} }

type floatConv struct{}

func (floatConv) fromWire(v htype.Value) (float64, []string, error) {
	if v.Kind() != htype.Number {
		return 0, nil, reject("expected float, got %s", describeValue(v))
	}
	if math.IsInf(v.Float(), 0) {
		return 0, nil, reject("float out of range")
	}
	return v.Float(), nil, nil
}

func (floatConv) toWire(dst []byte, v float64) ([]byte, error) {
	return htype.AppendJSON(dst, v)
}

// Str returns the type `str`: a JSON string.
func Str() Type[string] { return Type[string]{str: "str", conv: strConv{}} }

type strConv struct{}

func (strConv) fromWire(v htype.Value) (string, []string, error) {
	if v.Kind() != htype.String {
		return "", nil, reject("expected str, got %s", describeValue(v))
	}
	return v.Str(), nil, nil
}

func (strConv) toWire(dst []byte, v string) ([]byte, error) { return htype.AppendJSON(dst, v) }

// Bool returns the type `bool`: JSON true or false (never 0 or 1).
func Bool() Type[bool] { return Type[bool]{str: "bool", conv: boolConv{}} }

type boolConv struct{}

func (boolConv) fromWire(v htype.Value) (bool, []string, error) {
	if v.Kind() != htype.Boolean {
		return false, nil, reject("expected bool, got %s", describeValue(v))
	}
	return v.Bool(), nil, nil
}

func (boolConv) toWire(dst []byte, v bool) ([]byte, error) { return strconv.AppendBool(dst, v), nil }
