package heksher

import (
	"errors"
	"fmt"
)

// ErrNotConfigurable is matched by the error [Setting.Get] returns when an
// explicit context feature is not one of the setting's configurable
// features (docs/CONFORMANCE.md B3).
var ErrNotConfigurable = errors.New("heksher: context feature is not configurable for the setting")

// ErrMissingContextFeature is matched by the error [Setting.Get] returns
// when resolution needs a configurable context feature that has neither an
// explicit value nor a default. The error is a *[MissingFeatureError].
var ErrMissingContextFeature = errors.New("heksher: configurable context feature is missing")

// ErrInvalidSetting is matched by every error [NewSetting], [ParseType] and
// the type constructors report for invalid input: a bad version string, an
// invalid type, a default that is not a value of the type, an on-coerce hook
// of the wrong value type.
var ErrInvalidSetting = errors.New("heksher: invalid setting")

// ErrRejected is matched by a *[ConversionError]: a server value that the
// setting's type, its on-coerce hook or a validator refused.
var ErrRejected = errors.New("heksher: value rejected")

// MissingFeatureError reports a configurable context feature that resolution
// needed but that had no value. It matches [ErrMissingContextFeature].
type MissingFeatureError struct {
	Setting string // the setting being resolved
	Feature string // the feature without a value
}

// Error returns the reference client's message.
func (e *MissingFeatureError) Error() string {
	return fmt.Sprintf("heksher: setting %s: configurable context feature %s is missing from both the default namespace and arguments",
		e.Setting, e.Feature)
}

// Is reports whether target is [ErrMissingContextFeature].
func (e *MissingFeatureError) Is(target error) bool { return target == ErrMissingContextFeature }

// NotConfigurableError reports explicit context features that are not
// configurable for a setting. It matches [ErrNotConfigurable].
type NotConfigurableError struct {
	Setting  string   // the setting being read
	Features []string // the explicit keys that are not configurable
}

// Error names the setting and the offending keys.
func (e *NotConfigurableError) Error() string {
	return fmt.Sprintf("heksher: setting %s: context features %q are not configurable (configurable features only)",
		e.Setting, e.Features)
}

// Is reports whether target is [ErrNotConfigurable].
func (e *NotConfigurableError) Is(target error) bool { return target == ErrNotConfigurable }

// ConversionError is a rejection of one value: the type could not convert
// it, or an on-coerce hook or a validator returned an error (then Err holds
// that error). It matches [ErrRejected].
type ConversionError struct {
	// Reason says why, in the reference's words where it has some
	// (e.g. "value is not a valid enum member").
	Reason string
	// Err is the hook's or validator's own error, if one rejected the value.
	Err error
}

// Error returns "heksher: " followed by the reason.
func (e *ConversionError) Error() string { return "heksher: " + e.Reason }

// Unwrap returns the hook's or validator's error, if any.
func (e *ConversionError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrRejected].
func (e *ConversionError) Is(target error) bool { return target == ErrRejected }

func reject(format string, args ...any) *ConversionError {
	return &ConversionError{Reason: fmt.Sprintf(format, args...)}
}

// reasonOf is the text used when a rejection is nested in a coercion
// message or a log line.
func reasonOf(err error) string {
	if ce, ok := errors.AsType[*ConversionError](err); ok {
		return ce.Reason
	}
	return err.Error()
}

// invalid builds a construction error matching [ErrInvalidSetting].
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidSetting}, args...)...)
}

// ErrPanic is matched by a *[PanicError].
var ErrPanic = errors.New("heksher: hook or validator panicked")

// PanicError reports that a setting's on-coerce hook or validator panicked
// while a server value was converted; the whole update fails and the last
// good values stay in force. It matches [ErrPanic].
type PanicError struct {
	Setting string // the setting whose hook panicked
	Value   any    // what was passed to panic
}

// Error names the setting and the panic value.
func (e *PanicError) Error() string {
	return fmt.Sprintf("heksher: setting %s: hook or validator panicked: %v", e.Setting, e.Value)
}

// Is reports whether target is [ErrPanic].
func (e *PanicError) Is(target error) bool { return target == ErrPanic }
