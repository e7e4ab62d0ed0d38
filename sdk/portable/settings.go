package portable

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/heksher-go/heksher/pluginapi"
)

// Settings looks settings up through the host: over the wasm ABI's
// get_setting in a wasm guest, over the connection to the host's Settings
// service in a process plugin. Plugins get theirs in [InitRequest].
//
// A process plugin's Settings is safe for concurrent use; a wasm guest has
// one thread, and its Settings must be used from the handler's goroutine.
type Settings struct {
	backend // the runtime's: settings_wasip1.go or settings_other.go
}

// Lookup resolves setting for the given feature values, as the host does
// for every plugin; features not given take the host's context defaults.
// The value's JSON is the plugin's to keep. A lookup whose ctx is done
// fails with ctx's error without asking the host.
//
// The answer carries the same fields in both runtimes: its
// [pluginapi.Source], its [pluginapi.Origin] (service, snapshot or
// defaults) and, for a rule, the rule's id and conditions.
//
// # Errors
//
// Errors match [pluginapi.ErrNotFound], [pluginapi.ErrNotDeclared] (the
// manifest did not declare the setting) and [pluginapi.ErrBadContext] with
// errors.Is in both runtimes, and carry the runtime's text. Other failures
// (the host is gone, a deadline) are returned wrapped.
func (s *Settings) Lookup(ctx context.Context, setting string, features ...pluginapi.Feature) (pluginapi.Value, error) {
	return s.lookupValue(ctx, setting, features, true)
}

// lookupValue is Lookup; with keep false the value's JSON may be valid
// only until the next lookup (a wasm guest's lookup buffer), for callers
// that decode it at once.
func (s *Settings) lookupValue(ctx context.Context, setting string, features []pluginapi.Feature, keep bool) (pluginapi.Value, error) {
	if err := ctx.Err(); err != nil {
		return pluginapi.Value{}, fmt.Errorf("portable: lookup %q: %w", setting, err)
	}
	return s.lookup(ctx, setting, features, keep)
}

// Get looks setting up and decodes its JSON value into a T (int for an
// "int" setting, string for "str" and Enum, []string for Flags, and so on).
//
// # Errors
//
// Those of [Settings.Lookup], and a value that does not decode into T.
func Get[T any](ctx context.Context, s *Settings, setting string, features ...pluginapi.Feature) (T, error) {
	var out T
	v, err := s.lookupValue(ctx, setting, features, false)
	if err != nil {
		return out, err
	}
	if decodeFast(v.JSON, &out) {
		return out, nil
	}
	if err := json.Unmarshal(v.JSON, &out); err != nil {
		return out, fmt.Errorf("portable: setting %q: value %s does not decode into %T: %w", setting, v.JSON, out, err)
	}
	return out, nil
}

// decodeFast decodes the common shapes (an integer into an int or int64, a
// string without escapes, a bool) without encoding/json, which costs tens of
// microseconds per call in a wasm guest, and reports whether it did. For
// anything else, including every value it would refuse, encoding/json
// decides, so the answers and errors are encoding/json's.
func decodeFast(b []byte, out any) bool {
	switch p := out.(type) {
	case *int:
		if n, ok := jsonInt(b); ok && n == int64(int(n)) {
			*p = int(n)
			return true
		}
	case *int64:
		if n, ok := jsonInt(b); ok {
			*p = n
			return true
		}
	case *string:
		if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
			inner := b[1 : len(b)-1]
			for _, c := range inner {
				if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
					return false // escapes and non-ASCII: encoding/json checks them
				}
			}
			*p = string(inner)
			return true
		}
	case *bool:
		switch string(b) {
		case "true":
			*p = true
			return true
		case "false":
			*p = false
			return true
		}
	}
	return false
}

// jsonInt parses b if it is a JSON integer as encoding/json writes it: an
// optional minus, then 0 or digits without a leading zero, within int64.
func jsonInt(b []byte) (int64, bool) {
	digits := b
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 18 || (digits[0] == '0' && len(digits) > 1) {
		return 0, false // empty, a leading zero, or more digits than always fit: encoding/json decides
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if len(digits) != len(b) {
		n = -n
	}
	return n, true
}
