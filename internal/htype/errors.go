package htype

import (
	"errors"
	"fmt"
)

// ErrInvalidType is matched (errors.Is) by every error [Parse] returns.
var ErrInvalidType = errors.New("htype: invalid type")

// ErrInvalidValue is matched by the errors [Type.Validate] returns when a
// well-formed JSON value does not belong to the type.
var ErrInvalidValue = errors.New("htype: value does not match type")

// TypeErrorCause classifies why a type string was rejected, mirroring the
// exception the reference server raises (and so the error type it reports).
type TypeErrorCause uint8

// The causes of a [TypeError].
const (
	CauseUnknown      TypeErrorCause = iota // no type matches ("value_error")
	CauseOptionsJSON                        // Enum/Flags options are not JSON ("value_error.jsondecode")
	CauseNotArray                           // Enum/Flags options are not an array ("type_error")
	CauseNotPrimitive                       // an option is null, an array or an object ("type_error")
)

// TypeError reports a type string that cannot be parsed.
type TypeError struct {
	Input  string         // the whole type string given to Parse
	Part   string         // the (possibly inner) type string that failed
	Reason string         // why it is invalid
	Cause  TypeErrorCause // which check failed
	// Offending is, for CauseNotArray and CauseNotPrimitive, the JSON
	// value that is not an array or not a primitive.
	Offending Value
}

// Error returns the message in the reference server's wording, prefixed
// with the package name.
func (e *TypeError) Error() string {
	return fmt.Sprintf("htype: cannot resolve setting type %s: %s", e.Input, e.Reason)
}

// Is reports whether target is [ErrInvalidType].
func (e *TypeError) Is(target error) bool { return target == ErrInvalidType }

// SyntaxError reports malformed JSON. Its fields follow Python's
// json.JSONDecodeError, which the reference server surfaces in its
// validation errors: Pos counts characters (code points), not bytes, and
// Line and Col are 1-based.
type SyntaxError struct {
	Msg  string // e.g. "Expecting value"
	Pos  int    // character offset of the problem
	Line int    // 1-based line of Pos
	Col  int    // 1-based column of Pos
}

// Error returns Python's message, e.g.
// "htype: Expecting value: line 1 column 1 (char 0)".
func (e *SyntaxError) Error() string {
	return "htype: " + e.PythonMessage()
}

// PythonMessage returns the message exactly as Python's json module words
// it, without the package prefix.
func (e *SyntaxError) PythonMessage() string {
	return fmt.Sprintf("%s: line %d column %d (char %d)", e.Msg, e.Line, e.Col, e.Pos)
}
