package config

import (
	"errors"

	"github.com/heksher-go/heksher/internal/yamlstrict"
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

// Error formats the problem as "config: file:line:col: field: msg", in the
// same shape as the YAML decoder's own errors.
func (e *Error) Error() string {
	return "config: " + (&yamlstrict.Error{File: e.File, Line: e.Line, Column: e.Column, Field: e.Field, Msg: e.Msg}).Error()
}

// Is reports whether target is [ErrInvalid].
func (e *Error) Is(target error) bool { return target == ErrInvalid }
