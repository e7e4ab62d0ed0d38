package server

import (
	"errors"
	"fmt"
)

// ErrBadFeature is matched by errors about an invalid context-feature list
// given to [New].
var ErrBadFeature = errors.New("server: invalid context feature")

// ErrBadData is matched by errors about an unreadable or inconsistent data
// or seed file.
var ErrBadData = errors.New("server: invalid data")

// ErrRejected is matched by a [*RequestError]: the engine refused a request
// made through the Go API ([Engine.Do] callers, seeding).
var ErrRejected = errors.New("server: request rejected")

// RequestError reports an API request that did not succeed, with the status
// and body the HTTP API would have answered.
type RequestError struct {
	Method, Path string
	Status       int
	Body         string
}

// Error describes the failed request.
func (e *RequestError) Error() string {
	return fmt.Sprintf("server: %s %s: status %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// Is reports whether target is [ErrRejected].
func (e *RequestError) Is(target error) bool { return target == ErrRejected }
