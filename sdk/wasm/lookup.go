package wasm

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unsafe"

	"github.com/heksher-go/heksher/internal/abi"
)

// Context is an encoded lookup context: the values of context features a
// lookup resolves for. Features left out take the host's context defaults.
// The zero Context is empty. Build a fixed Context once with [NewContext] and
// reuse it, or build changing ones with a reused [ContextBuilder]; either way
// a lookup then encodes nothing.
type Context struct{ b []byte }

// NewContext returns the context of the given feature/value pairs: kv holds
// name, value, name, value, …. A trailing unpaired name is ignored.
func NewContext(kv ...string) Context { return Context{abi.AppendContext(nil, kv...)} }

// ContextBuilder builds contexts in a reused buffer, without allocating once
// the buffer has grown. The zero value is ready to use.
type ContextBuilder struct {
	buf []byte
	n   uint32
}

// Reset starts a new context, invalidating the previous [ContextBuilder.Context].
func (b *ContextBuilder) Reset() *ContextBuilder {
	b.buf = abi.AppendU32(b.buf[:0], 0)
	b.n = 0
	return b
}

// Add appends one feature value.
func (b *ContextBuilder) Add(feature, value string) *ContextBuilder {
	if len(b.buf) < 4 {
		b.Reset()
	}
	b.buf = abi.AppendStr(b.buf, feature)
	b.buf = abi.AppendStr(b.buf, value)
	b.n++
	return b
}

// Context returns the context built so far; it aliases the builder's buffer
// and is valid until the next Reset.
func (b *ContextBuilder) Context() Context {
	if len(b.buf) < 4 {
		return Context{}
	}
	b.buf[0], b.buf[1], b.buf[2], b.buf[3] = byte(b.n), byte(b.n>>8), byte(b.n>>16), byte(b.n>>24)
	return Context{b.buf}
}

// lookupBuf receives values from the host; it grows to the largest value
// seen and is reused, so lookups do not allocate.
var lookupBuf = make([]byte, 256)

// GetRaw looks setting up for c and returns its value as wire JSON. The
// slice is valid until the next lookup.
//
// # Errors
//
// [ErrNotFound], [ErrNotDeclared], [ErrBadContext], [ErrHost], each in a
// [*HostError] with the host's reason.
func GetRaw(setting string, c Context) ([]byte, error) {
	for {
		n := hostGetSetting(setting, unsafe.Pointer(unsafe.SliceData(c.b)), uint32(len(c.b)),
			unsafe.Pointer(unsafe.SliceData(lookupBuf)), uint32(len(lookupBuf)))
		switch {
		case n < 0:
			return nil, resultError(n)
		case int(n) <= len(lookupBuf):
			return lookupBuf[:n], nil
		}
		lookupBuf = make([]byte, n) // the value did not fit: grow and ask again
	}
}

// GetInt looks up an int setting.
//
// # Errors
//
// Those of [GetRaw], and [ErrType] if the value is not an integer.
func GetInt(setting string, c Context) (int64, error) {
	b, err := GetRaw(setting, c)
	if err != nil {
		return 0, err
	}
	return ParseInt(b)
}

// GetFloat looks up a float setting (an int value is accepted).
func GetFloat(setting string, c Context) (float64, error) {
	b, err := GetRaw(setting, c)
	if err != nil {
		return 0, err
	}
	return ParseFloat(b)
}

// GetBool looks up a bool setting.
func GetBool(setting string, c Context) (bool, error) {
	b, err := GetRaw(setting, c)
	if err != nil {
		return false, err
	}
	return ParseBool(b)
}

// GetString looks up a str (or Enum) setting; the string is the one
// allocation of the call.
func GetString(setting string, c Context) (string, error) {
	b, err := GetRaw(setting, c)
	if err != nil {
		return "", err
	}
	return ParseString(b)
}

// GetJSON looks up a setting of any type and decodes its wire JSON into v
// with encoding/json (slow in a wasm guest: prefer the typed getters).
func GetJSON(setting string, c Context, v any) error {
	b, err := GetRaw(setting, c)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return ErrType
	}
	return nil
}

// ParseInt decodes a JSON integer without allocating.
func ParseInt(b []byte) (int64, error) {
	v, err := strconv.ParseInt(str(b), 10, 64)
	if err != nil {
		// Heksher may send an integral float such as 3.0.
		f, ferr := strconv.ParseFloat(str(b), 64)
		if ferr != nil || f != float64(int64(f)) {
			return 0, ErrType
		}
		return int64(f), nil
	}
	return v, nil
}

// ParseFloat decodes a JSON number without allocating.
func ParseFloat(b []byte) (float64, error) {
	v, err := strconv.ParseFloat(str(b), 64)
	if err != nil || (len(b) > 0 && (b[0] == 'N' || b[0] == 'I' || b[0] == '+')) {
		return 0, ErrType
	}
	return v, nil
}

// ParseBool decodes a JSON boolean.
func ParseBool(b []byte) (bool, error) {
	switch str(b) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, ErrType
}

// ParseString decodes a JSON string; only the result is allocated, unless
// the string holds escapes.
func ParseString(b []byte) (string, error) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", ErrType
	}
	inner := b[1 : len(b)-1]
	if bytes.IndexByte(inner, '\\') < 0 && bytes.IndexByte(inner, '"') < 0 {
		return string(inner), nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", ErrType
	}
	return s, nil
}
