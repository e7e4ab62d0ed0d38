package config

import (
	"errors"
	"fmt"
)

// ErrInvalid is matched (errors.Is) by every [*Error]: the file could not be
// decoded or failed validation.
var ErrInvalid = errors.New("config: invalid configuration")

// Error is a problem with one place of a configuration file.
type Error struct {
	// File is the file's path as given to [Load]; "" for a Config built in Go.
	File string
	// Line and Column locate the offending node (1-based); 0 when unknown.
	Line, Column int
	// Field is the field's path, e.g. "plugins[1].deadline"; "" for the
	// document itself.
	Field string
	// Msg says what is wrong.
	Msg string
}

// Error formats the problem as "config: file:line:col: field: msg".
func (e *Error) Error() string {
	loc := e.File
	switch {
	case e.Line > 0 && e.Column > 0:
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	case e.Line > 0:
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	s := "config: "
	if loc != "" {
		s += loc + ": "
	}
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Msg
}

// Is reports whether target is [ErrInvalid].
func (e *Error) Is(target error) bool { return target == ErrInvalid }
