package process

import (
	"errors"
	"fmt"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrClosed: the plugin was closed.
	ErrClosed = errors.New("process: plugin closed")
	// ErrFailed: the plugin failed more often in a row than its
	// Config.MaxRestarts allows; it stays down until [Plugin.Restart].
	ErrFailed = errors.New("process: plugin failed and was given up")
	// ErrRestarting: a delivery's ctx ended while the plugin was being
	// restarted.
	ErrRestarting = errors.New("process: plugin is restarting")
	// ErrCrashed: the plugin process died or became unreachable during a
	// call.
	ErrCrashed = errors.New("process: plugin process crashed")
	// ErrHandler: the plugin's handler returned an error (see [HandlerError]).
	ErrHandler = errors.New("process: plugin handler failed")
	// ErrNotExecutable: the configured path is not an executable regular file.
	ErrNotExecutable = errors.New("process: plugin path is not an executable file")
	// ErrChecksumMismatch: the binary's SHA-256 is not the configured one
	// (see [ChecksumError]).
	ErrChecksumMismatch = errors.New("process: plugin checksum mismatch")
	// ErrNotPlugin: the binary did not complete the plugin handshake (it
	// printed something else, or exited at once).
	ErrNotPlugin = errors.New("process: binary is not a Heksher plugin")
	// ErrIncompatibleVersion: the plugin speaks another protocol version.
	ErrIncompatibleVersion = errors.New("process: plugin speaks an incompatible protocol version")
	// ErrStartTimeout: the plugin did not finish its handshake and Init in
	// Config.StartTimeout.
	ErrStartTimeout = errors.New("process: plugin did not start in time")
	// ErrInit: the plugin's Init failed or returned a bad manifest.
	ErrInit = errors.New("process: plugin init failed")
	// ErrConfig: the Config is invalid (see the wrapped text).
	ErrConfig = errors.New("process: invalid plugin config")
)

// StartError reports why one start of a plugin process failed.
type StartError struct {
	// Plugin is the configured name, Path the binary.
	Plugin, Path string
	// Err is the cause; it wraps one of the sentinels above when one fits.
	Err error
}

func (e *StartError) Error() string {
	return fmt.Sprintf("process: start plugin %q (%s): %v", e.Plugin, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *StartError) Unwrap() error { return e.Err }

// ChecksumError reports a binary whose SHA-256 differs from the configured
// one. It matches [ErrChecksumMismatch].
type ChecksumError struct {
	Path string
	// Want and Got are lower-case hex SHA-256 digests.
	Want, Got string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("process: %s has SHA-256 %s, configured %s; refusing to run it", e.Path, e.Got, e.Want)
}

// Is reports whether target is [ErrChecksumMismatch].
func (e *ChecksumError) Is(target error) bool { return target == ErrChecksumMismatch }

// HandlerError carries the error text a plugin's handler returned for one
// delivery. It matches [ErrHandler]. The plugin process stays up.
type HandlerError struct {
	Plugin  string
	Seq     uint64 // the delivery's per-plugin Seq
	Message string
}

func (e *HandlerError) Error() string {
	return fmt.Sprintf("process: plugin %q failed delivery %d: %s", e.Plugin, e.Seq, e.Message)
}

// Is reports whether target is [ErrHandler].
func (e *HandlerError) Is(target error) bool { return target == ErrHandler }
