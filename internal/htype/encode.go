package htype

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the compact JSON encoding of v to dst, in the style of
// the reference server's responses: no insignificant whitespace, strings
// escaped minimally (quote, backslash and control characters) with non-ASCII
// kept as UTF-8, and floats in shortest round-trip form with a ".0" kept on
// integral values and exponent form ("1e20", "1.5e-7") below 1e-5 or from
// 1e16 on. Non-finite floats become null, as in the reference.
//
// v may be nil, a bool, a string, any integer or float type, json.Number,
// json.RawMessage (re-encoded in this style, key order kept), a [Value], a
// slice or a map with string keys (keys sorted); other values are first
// marshalled with encoding/json and then re-encoded.
//
// # Errors
//
// An error is returned for a json.RawMessage or json.Number that is not
// valid JSON, or a value encoding/json cannot marshal; dst is then returned
// unchanged.
func AppendJSON(dst []byte, v any) ([]byte, error) {
	out, err := appendAny(dst, v)
	if err != nil {
		return dst, err
	}
	return out, nil
}

func appendAny(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case string:
		return appendString(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case float32:
		return appendFloat(dst, float64(x), 32), nil
	case float64:
		return appendFloat(dst, x, 64), nil
	case Value:
		return x.AppendJSON(dst), nil
	case json.Number:
		return appendRaw(dst, []byte(x))
	case json.RawMessage:
		return appendRaw(dst, x)
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendAny(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case []string:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, e)
		}
		return append(dst, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, err = appendAny(dst, x[k]); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && rv.IsNil() {
		return append(dst, "null"...), nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("htype: encode %T: %w", v, err)
	}
	return appendRaw(dst, raw)
}

func appendRaw(dst, raw []byte) ([]byte, error) {
	val, err := ParseValue(raw)
	if err != nil {
		return nil, err
	}
	return val.AppendJSON(dst), nil
}

// AppendJSON appends v's compact encoding to dst (see [AppendJSON]).
func (v Value) AppendJSON(dst []byte) []byte {
	switch v.kind {
	case Null:
		return append(dst, "null"...)
	case Boolean:
		return strconv.AppendBool(dst, v.b)
	case String:
		return appendString(dst, v.s)
	case Number:
		if v.isFloat {
			return appendFloat(dst, v.f, 64)
		}
		return append(dst, v.s...)
	case Array:
		dst = append(dst, '[')
		for i, e := range v.items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.AppendJSON(dst)
		}
		return append(dst, ']')
	case Object:
		dst = append(dst, '{')
		for i, m := range v.members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, m.Key)
			dst = append(dst, ':')
			dst = m.Value.AppendJSON(dst)
		}
		return append(dst, '}')
	}
	return dst
}

// String returns v's compact encoding.
func (v Value) String() string { return string(v.AppendJSON(nil)) }

const hexDigits = "0123456789abcdef"

func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendFloat renders f the way the reference's JSON library (ryu) does.
func appendFloat(dst []byte, f float64, bits int) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(dst, "null"...)
	}
	digits, exp, neg := shortest(f, bits)
	if neg {
		dst = append(dst, '-')
	}
	nd := len(digits)
	kk := nd + exp // value = 0.digits × 10^kk
	switch {
	case exp >= 0 && kk <= 16:
		dst = append(dst, digits...)
		for i := nd; i < kk; i++ {
			dst = append(dst, '0')
		}
		return append(dst, '.', '0')
	case kk > 0 && kk <= 16:
		dst = append(dst, digits[:kk]...)
		dst = append(dst, '.')
		return append(dst, digits[kk:]...)
	case kk > -5 && kk <= 0:
		dst = append(dst, '0', '.')
		for i := kk; i < 0; i++ {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	dst = append(dst, digits[0])
	if nd > 1 {
		dst = append(dst, '.')
		dst = append(dst, digits[1:]...)
	}
	dst = append(dst, 'e')
	return strconv.AppendInt(dst, int64(kk-1), 10)
}

// shortest returns the shortest round-trip decimal digits of |f| and the
// exponent such that |f| = digits × 10^exp.
func shortest(f float64, bits int) (digits string, exp int, neg bool) {
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], f, 'e', -1, bits)
	if b[0] == '-' {
		neg = true
		b = b[1:]
	}
	// b is d[.ddd]e±XX
	e := 0
	for i, c := range b {
		if c == 'e' {
			e = i
			break
		}
	}
	mant := b[:e]
	x, _ := strconv.Atoi(string(b[e+1:]))
	ds := make([]byte, 0, len(mant))
	for _, c := range mant {
		if c != '.' {
			ds = append(ds, c)
		}
	}
	if len(ds) == 1 && ds[0] == '0' {
		return "0", 0, neg
	}
	return string(ds), x - (len(ds) - 1), neg
}

// appendPyJSON renders a primitive option the way Python's json.dumps
// does (ASCII only, floats as repr), which is how the reference writes
// Enum and Flags options into normalised type strings.
func appendPyJSON(dst []byte, v Value) []byte {
	switch v.kind {
	case Boolean:
		return strconv.AppendBool(dst, v.b)
	case Number:
		if !v.isFloat {
			return append(dst, v.s...)
		}
		return appendPyFloat(dst, v.f)
	case String:
		dst = append(dst, '"')
		for _, r := range v.s {
			switch {
			case r == '"' || r == '\\':
				dst = append(dst, '\\', byte(r))
			case r == '\n':
				dst = append(dst, '\\', 'n')
			case r == '\r':
				dst = append(dst, '\\', 'r')
			case r == '\t':
				dst = append(dst, '\\', 't')
			case r == '\b':
				dst = append(dst, '\\', 'b')
			case r == '\f':
				dst = append(dst, '\\', 'f')
			case r >= 0x20 && r < 0x7f:
				dst = append(dst, byte(r))
			case r > 0xFFFF:
				r1, r2 := surrogates(r)
				dst = appendU4(dst, r1)
				dst = appendU4(dst, r2)
			default:
				if r == utf8.RuneError {
					r = 0xFFFD
				}
				dst = appendU4(dst, r)
			}
		}
		return append(dst, '"')
	}
	return v.AppendJSON(dst)
}

func surrogates(r rune) (rune, rune) {
	r -= 0x10000
	return 0xD800 + (r>>10)&0x3FF, 0xDC00 + r&0x3FF
}

func appendU4(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// appendPyFloat renders f as Python's float.__repr__ does.
func appendPyFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	digits, exp, neg := shortest(f, 64)
	if neg {
		dst = append(dst, '-')
	}
	nd := len(digits)
	x := nd + exp - 1 // decimal exponent of the leading digit
	if x >= -4 && x < 16 {
		kk := x + 1
		switch {
		case kk <= 0:
			dst = append(dst, '0', '.')
			for i := kk; i < 0; i++ {
				dst = append(dst, '0')
			}
			return append(dst, digits...)
		case kk >= nd:
			dst = append(dst, digits...)
			for i := nd; i < kk; i++ {
				dst = append(dst, '0')
			}
			return append(dst, '.', '0')
		default:
			dst = append(dst, digits[:kk]...)
			dst = append(dst, '.')
			return append(dst, digits[kk:]...)
		}
	}
	dst = append(dst, digits[0])
	if nd > 1 {
		dst = append(dst, '.')
		dst = append(dst, digits[1:]...)
	}
	dst = append(dst, 'e')
	if x < 0 {
		dst = append(dst, '-')
		x = -x
	} else {
		dst = append(dst, '+')
	}
	if x < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(x), 10)
}

// AppendJSONString appends s as a JSON string in [AppendJSON]'s style,
// without the interface conversion AppendJSON needs.
func AppendJSONString(dst []byte, s string) []byte { return appendString(dst, s) }

// AppendPythonJSON appends v rendered the way Python's json.dumps renders
// it with its defaults, which is how the reference server writes Enum and
// Flags options into type strings: non-ASCII escaped as \uXXXX and floats
// as Python's repr ("1e+20", "1e-05"). Objects and arrays use ", " and
// ": " separators like json.dumps.
func AppendPythonJSON(dst []byte, v Value) []byte {
	switch v.kind {
	case Array:
		dst = append(dst, '[')
		for i, it := range v.items {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = AppendPythonJSON(dst, it)
		}
		return append(dst, ']')
	case Object:
		dst = append(dst, '{')
		for i, m := range v.members {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendPyJSON(dst, StringValue(m.Key))
			dst = append(dst, ": "...)
			dst = AppendPythonJSON(dst, m.Value)
		}
		return append(dst, '}')
	}
	return appendPyJSON(dst, v)
}
