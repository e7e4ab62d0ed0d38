package heksher

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Sentinel errors of the client's life. Compare with errors.Is.
var (
	// ErrClosed is returned by calls on a closed [Client].
	ErrClosed = errors.New("heksher: client closed")
	// ErrAlreadyMain is returned by [Client.SetAsMain] or [Client.Start] on
	// a client that was already started.
	ErrAlreadyMain = errors.New("heksher: client is already main")
	// ErrNotRunning is returned by [Client.Reload] on a client that never
	// became main.
	ErrNotRunning = errors.New("heksher: client is not running")
	// ErrMainSwitch is matched by every [*MainSwitchError]: the main slot
	// could not be handed to a client.
	ErrMainSwitch = errors.New("heksher: cannot switch main client")
	// ErrDuplicateDefault is returned by SetDefaults for a feature that
	// already has a default; nothing from that call is applied.
	ErrDuplicateDefault = errors.New("heksher: context feature already has a default")
	// ErrDeclarationConflict is matched by every [*ConflictError]: the
	// service refused a setting's declaration as it stands (409).
	ErrDeclarationConflict = errors.New("heksher: declaration conflicts with the service")
	// ErrInvalidTracking is returned by [Client.TrackContexts] for an empty
	// value list, or TrackAll mixed with values of the same feature;
	// nothing from that call is applied.
	ErrInvalidTracking = errors.New("heksher: invalid context tracking")
)

// HTTPError is a non-2xx answer of the service. Body holds the answer's
// first bytes.
type HTTPError struct {
	Method     string
	URL        string
	StatusCode int
	Body       []byte
}

// Error describes the failure and where it happened: the method, the URL
// without its query string (URL keeps it), the status and the body.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("heksher: %s %s: status %d: %s", e.Method, withoutQuery(e.URL), e.StatusCode, truncateBody(e.Body))
}

// RequestError is a request that got no usable answer: the connection failed,
// timed out, or the body could not be read in full. Err is the cause.
type RequestError struct {
	Method string
	URL    string
	Err    error
}

// Error describes the failure and where it happened: the method, the URL
// without its query string (URL keeps it) and the cause, said once (the
// *url.Error that net/http wraps it in repeats the method and URL).
func (e *RequestError) Error() string {
	cause := e.Err
	if ue, ok := errors.AsType[*url.Error](cause); ok && ue.Err != nil {
		cause = ue.Err
	}
	return fmt.Sprintf("heksher: %s %s: %v", e.Method, withoutQuery(e.URL), cause)
}

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Err }

// DecodeError is an answer whose body could not be read as the expected JSON.
// What names the answer; Err says where in the body (for example
// `settings["size"].rules[2]: no value`).
type DecodeError struct {
	URL  string
	What string
	Err  error
}

// Error describes the failure and where it happened.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("heksher: decoding %s from %s: %v", e.What, e.URL, e.Err)
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// DeclarationError is a setting whose declaration failed (see
// [WithStrictDeclarations]). Err is the cause: a [*RequestError], an
// [*HTTPError] or a [*DecodeError].
type DeclarationError struct {
	Setting string
	Err     error
}

// Error describes the failure and where it happened.
func (e *DeclarationError) Error() string {
	return "heksher: declaring " + e.Setting + ": " + errText(e.Err)
}

// Unwrap returns the cause.
func (e *DeclarationError) Unwrap() error { return e.Err }

// ConflictError says that the service answered a setting's declaration
// with a conflict (HTTP 409): the setting differs from the service's
// declaration in a way the declared version does not allow (outcome
// "mismatch" or "rejected"), or its alias names another setting. The
// setting is still kept up to date, but with the service's declaration:
// rules whose values do not fit the local type are rejected, and reads fall
// back to the local default. It matches [ErrDeclarationConflict].
//
// [Client.Status] lists the conflicts in force, [Setting.DeclarationConflict]
// and [Setting.Lookup] report a setting's own, and with
// [WithStrictDeclarations] SetAsMain fails on one.
type ConflictError struct {
	// Setting is the declared name.
	Setting string
	// Outcome is the service's outcome ("mismatch", "rejected"), or "" when
	// its answer had none (an alias conflict).
	Outcome string
	// Reason says what differs, from the service's answer: each difference
	// as "attribute: the service has value", or the service's message.
	Reason string
}

// Error names the setting, says why, and what to do about it.
func (e *ConflictError) Error() string {
	outcome := ""
	if e.Outcome != "" {
		outcome = " (" + e.Outcome + ")"
	}
	return "heksher: setting " + e.Setting + " conflicts with the service's declaration" + outcome + ": " + e.Reason +
		" (the service's declaration is in force; declare the setting as the service has it, or with a higher version)"
}

// Is reports whether target is [ErrDeclarationConflict].
func (e *ConflictError) Is(target error) bool { return target == ErrDeclarationConflict }

// MainSwitchError says why a client could not become the main client. It
// matches [ErrMainSwitch].
type MainSwitchError struct {
	// From and To are the types of the current and the candidate occupants.
	From, To string
	// Reason says what prevented the switch.
	Reason string
	// Pending names the settings the previous client had not declared yet
	// (queued, or awaiting a retry after a failure with [WithDegradedStart])
	// when they are what prevented the switch; nil otherwise.
	Pending []string
}

// Error describes the failure and where it happened.
func (e *MainSwitchError) Error() string {
	return fmt.Sprintf("heksher: cannot change main client from %s to %s: %s", e.From, e.To, e.Reason)
}

// Is reports whether target is [ErrMainSwitch].
func (e *MainSwitchError) Is(target error) bool { return target == ErrMainSwitch }

func truncateBody(b []byte) string {
	const max = 512
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// withoutQuery returns u without its query string, for error texts: the
// query of an update lists every setting and filter.
func withoutQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// errText is err's text without the package prefix, for an error that
// wraps it and says "heksher: " itself.
func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.TrimPrefix(err.Error(), "heksher: ")
}

// opError says what failed (op) around a cause that may be one of this
// package's errors, without repeating "heksher: ", and what to do next.
type opError struct {
	op   string // what failed, e.g. "set as main: first update"
	err  error
	next string // the next step for the caller, or ""
}

func (e *opError) Error() string {
	msg := "heksher: " + e.op + ": " + errText(e.err)
	if e.next != "" {
		msg += " (" + e.next + ")"
	}
	return msg
}

func (e *opError) Unwrap() error { return e.err }

// wrapOp wraps err as the failure of op, with an optional next step.
func wrapOp(op string, err error, next string) error {
	return &opError{op: op, err: err, next: next}
}

// joinedError joins several errors under one heading, each said once;
// errors.Is and errors.As see every one.
type joinedError struct {
	head string
	errs []error
	next string
}

func (e *joinedError) Error() string {
	parts := make([]string, len(e.errs))
	for i, err := range e.errs {
		parts[i] = errText(err)
	}
	msg := "heksher: " + e.head + ": " + strings.Join(parts, "; ")
	if e.next != "" {
		msg += " (" + e.next + ")"
	}
	return msg
}

func (e *joinedError) Unwrap() []error { return e.errs }
