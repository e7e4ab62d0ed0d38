package host

import (
	"errors"
	"fmt"
)

// Sentinels matched (errors.Is) by the host's errors.
var (
	// ErrClosed: the host was closed.
	ErrClosed = errors.New("host: closed")
	// ErrChecksum: a plugin file does not match its configured SHA-256.
	ErrChecksum = errors.New("host: plugin checksum mismatch")
	// ErrConflict: a plugin declares a setting differently from an earlier
	// declaration of the same name.
	ErrConflict = errors.New("host: conflicting setting declaration")
	// ErrNoLoader: no runtime is configured for a plugin's kind.
	ErrNoLoader = errors.New("host: no loader for plugin kind")
	// ErrStartTimeout: a plugin was not ready within its start timeout
	// (plugins[].start_timeout); its load was abandoned.
	ErrStartTimeout = errors.New("host: plugin start timed out")
)

// PluginError is a failure to load one plugin; the running set is left as
// it was.
type PluginError struct {
	// Plugin is the plugin's configured name.
	Plugin string
	// Path is its file.
	Path string
	// Err is the cause (wraps [ErrChecksum], [ErrConflict], [ErrNoLoader],
	// or the runtime's error).
	Err error
}

// Error names the plugin and its file.
func (e *PluginError) Error() string {
	return fmt.Sprintf("host: plugin %q (%s): %v", e.Plugin, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *PluginError) Unwrap() error { return e.Err }

// ConflictError describes two declarations of one setting that differ.
type ConflictError struct {
	// Setting is the setting's name.
	Setting string
	// Existing names who declared it first ("host" or a plugin name).
	Existing string
	// Field is the first field that differs ("type", "configurable_features",
	// "default_value", "version").
	Field string
	// Have and Want are that field's values: the existing one and the new one.
	Have, Want string
}

// Error says which field differs and how.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("host: setting %q is already declared by %s with %s %s; this declaration has %s",
		e.Setting, e.Existing, e.Field, e.Have, e.Want)
}

// Is matches [ErrConflict].
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
