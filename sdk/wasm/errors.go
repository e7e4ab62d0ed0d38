package wasm

import (
	"errors"
	"unsafe"

	"github.com/heksher-go/heksher/internal/abi"
)

// Errors of lookups and declarations. A failure the host explains comes as a
// [*HostError] that wraps one of them, carrying the host's reason; compare
// with errors.Is.
var (
	// ErrNotFound: the host knows no setting of that name.
	ErrNotFound = errors.New("wasm: setting not found")
	// ErrNotDeclared: the plugin did not declare the setting.
	ErrNotDeclared = errors.New("wasm: setting not declared by this plugin")
	// ErrBadContext: the context does not fit the setting (a feature it is
	// not configurable by, or a malformed context).
	ErrBadContext = errors.New("wasm: bad context for setting")
	// ErrType: the setting's value is not of the type asked for.
	ErrType = errors.New("wasm: setting value has another type")
	// ErrHost: the host refused the call (out-of-range memory, an internal
	// failure, or no host at all when running natively).
	ErrHost = errors.New("wasm: host call failed")
	// ErrInvalidDeclaration: the host refused a declaration as malformed (an
	// empty name or type, a default or metadata that is not JSON).
	ErrInvalidDeclaration = errors.New("wasm: invalid setting declaration")
	// ErrNotAllowed: Declare was called outside the init function.
	ErrNotAllowed = errors.New("wasm: only allowed during initialisation")
	// ErrUnsupported may be returned by a handler: the plugin does not handle
	// that kind of event, and the host stops sending it.
	ErrUnsupported = errors.New("wasm: event kind not handled")
)

// HostError is a lookup or declaration that the host refused, with the
// reason it gave (the ABI's last_error): for example
//
//	wasm: bad context for setting: get_setting "rate_limit": heksher: setting rate_limit: context features ["colour"] are not configurable …
//
// It matches its sentinel ([ErrNotFound], [ErrNotDeclared], [ErrBadContext],
// [ErrInvalidDeclaration], [ErrNotAllowed] or [ErrHost]) with errors.Is.
type HostError struct {
	// Err is the sentinel of the host's result code.
	Err error
	// Code is the ABI result code the host answered (docs/ABI.md §3).
	Code int32
	// Reason is the host's explanation, "function: why", at most 1 KiB.
	Reason string
}

// Error returns the sentinel's text and the host's reason.
func (e *HostError) Error() string { return e.Err.Error() + ": " + e.Reason }

// Unwrap returns the sentinel.
func (e *HostError) Unwrap() error { return e.Err }

// reasonBuf receives last_error's answer; reasons are at most abi.MaxReason
// bytes, so it never grows.
var reasonBuf [abi.MaxReason]byte

// hostError returns sentinel for the host call that just answered code,
// wrapped in a [*HostError] with the host's reason when the host gives one
// (outside a wasm guest it never does, and sentinel is returned as it is).
// Only this failure path allocates: the error and its reason.
func hostError(code int32, sentinel error) error {
	n := hostLastError(unsafe.Pointer(&reasonBuf[0]), uint32(len(reasonBuf)))
	if n <= 0 || int(n) > len(reasonBuf) {
		return sentinel
	}
	return &HostError{Err: sentinel, Code: code, Reason: string(reasonBuf[:n])}
}

// resultError maps a host function's negative result to its error, with the
// host's reason.
func resultError(n int32) error {
	var sentinel error
	switch n {
	case abi.ResultNotFound:
		sentinel = ErrNotFound
	case abi.ResultNotDeclared:
		sentinel = ErrNotDeclared
	case abi.ResultBadContext, abi.ResultMalformed:
		sentinel = ErrBadContext
	default:
		sentinel = ErrHost
	}
	return hostError(n, sentinel)
}
