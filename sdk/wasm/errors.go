package wasm

import "errors"

// Errors of lookups and declarations. Lookups return them unwrapped, so that
// the lookup path does not allocate; compare with errors.Is.
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
