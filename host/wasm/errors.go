package wasm

import (
	"errors"
	"fmt"

	"github.com/heksher-go/heksher/event"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrClosed: the runtime or plugin is closed.
	ErrClosed = errors.New("wasm: closed")
	// ErrInvalidModule: the module failed validation; the error is a
	// [*ValidationError].
	ErrInvalidModule = errors.New("wasm: invalid module")
	// ErrChecksum: the module's SHA-256 differs from the configured one.
	ErrChecksum = errors.New("wasm: module checksum mismatch")
	// ErrInit: the guest's heksher_init failed (error status, trap or timeout).
	ErrInit = errors.New("wasm: plugin initialisation failed")
	// ErrTrap: the guest trapped (a panic, unreachable, out of memory, an
	// out-of-bounds access) or exited; its instance was discarded.
	ErrTrap = errors.New("wasm: guest trapped")
	// ErrTimeout: the call ran past its deadline and was stopped; its
	// instance was discarded.
	ErrTimeout = errors.New("wasm: guest call timed out")
	// ErrGuestStatus: the guest returned an error status (with the message it
	// set); its instance stays in service.
	ErrGuestStatus = errors.New("wasm: guest returned an error status")
	// ErrBackoff: the plugin failed recently and waits for its backoff
	// before a fresh instance is made; the event was not delivered.
	ErrBackoff = errors.New("wasm: plugin restarting after failures")
	// ErrFailed: the plugin failed too many times in a row and is given up;
	// it needs a reload.
	ErrFailed = errors.New("wasm: plugin failed")
)

// ValidationError reports a module that cannot be loaded: not wasm, another
// ABI version, a missing or mistyped export, an import the host does not
// provide. It matches [ErrInvalidModule].
type ValidationError struct {
	Plugin  string // the plugin's configured name
	Problem string // what is wrong, e.g. `missing export "heksher_init"`; several problems are joined by "; "
	// Problems lists each problem of a module that compiled but breaks the
	// ABI (Problem joins them); nil otherwise.
	Problems []string
	Err      error // the underlying cause, if any (e.g. wazero's decode error)
}

func (e *ValidationError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("wasm: plugin %q: invalid module: %s: %v", e.Plugin, e.Problem, e.Err)
	}
	return fmt.Sprintf("wasm: plugin %q: invalid module: %s", e.Plugin, e.Problem)
}

// Unwrap returns [ErrInvalidModule] and the cause.
func (e *ValidationError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidModule, e.Err}
	}
	return []error{ErrInvalidModule}
}

// CallError reports a failed call into a guest: an event delivery, or
// heksher_init (Kind 0). It matches one of [ErrTrap], [ErrTimeout],
// [ErrGuestStatus] (through Reason) and, for a trap or timeout, the cause
// (e.g. context.DeadlineExceeded).
type CallError struct {
	Plugin  string     // the plugin's configured name
	Export  string     // the export called, e.g. "heksher_on_setting_changed"
	Kind    event.Kind // the event kind delivered; 0 for initialisation
	Reason  error      // ErrTrap, ErrTimeout or ErrGuestStatus
	Status  int32      // the guest's status, for ErrGuestStatus
	Message string     // the message the guest set with set_error, if any
	Err     error      // the cause reported by wazero, for a trap or timeout
}

func (e *CallError) Error() string {
	switch {
	case e.Reason == ErrGuestStatus && e.Message != "":
		return fmt.Sprintf("wasm: plugin %q: %s returned status %d: %s", e.Plugin, e.Export, e.Status, e.Message)
	case e.Reason == ErrGuestStatus:
		return fmt.Sprintf("wasm: plugin %q: %s returned status %d", e.Plugin, e.Export, e.Status)
	case e.Err != nil:
		return fmt.Sprintf("wasm: plugin %q: %s: %v: %v", e.Plugin, e.Export, e.Reason, e.Err)
	}
	return fmt.Sprintf("wasm: plugin %q: %s: %v", e.Plugin, e.Export, e.Reason)
}

// Unwrap returns the reason and the cause.
func (e *CallError) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Reason, e.Err}
	}
	return []error{e.Reason}
}
