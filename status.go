package heksher

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// Origin says where the values a client serves come from.
type Origin string

// The origins of a client's values.
const (
	OriginDefaults Origin = "defaults" // nothing received yet: local (or declared) defaults
	OriginService  Origin = "service"  // the last successful update
	OriginSnapshot Origin = "snapshot" // a saved answer loaded at start (see WithSnapshotFile)
)

// Result is the outcome of an update attempt.
type Result string

// The results of an update attempt.
const (
	ResultNone        Result = ""             // no attempt yet
	ResultOK          Result = "ok"           // a 200 answer applied
	ResultNotModified Result = "not_modified" // a 304 answer
	ResultError       Result = "error"        // the attempt failed
)

// Status is a client's state, for status pages and health checks.
type Status struct {
	// Running is true between SetAsMain and Close.
	Running bool
	// Origin says where the served values come from.
	Origin Origin
	// LastAttempt is when the last update attempt ended; LastResult is how.
	LastAttempt time.Time
	LastResult  Result
	// LastSuccess is when the last successful attempt ended.
	LastSuccess time.Time
	// ETag is the ETag in force.
	ETag string
	// SnapshotSaved is when the loaded snapshot was saved; zero if none was
	// loaded.
	SnapshotSaved time.Time
	// ConsecutiveFailures counts failed attempts since the last success.
	ConsecutiveFailures int
	// LastError is the last attempt's error, nil after a success.
	LastError error
	// Attempts counts update attempts.
	Attempts uint64
	// Tracked counts declared settings; PendingDeclarations those waiting
	// (or being declared); RetryingDeclarations those waiting for a retry.
	Tracked, PendingDeclarations, RetryingDeclarations int
	// Conflicts lists the settings whose last answered declaration the
	// service refused with a conflict (409), sorted by name: each says
	// which setting and why. A later declaration of the same name that the
	// service accepts removes its entry.
	Conflicts []ConflictError
	// Missing lists, sorted, the tracked settings the service said do not
	// exist (a query answered 404 "the following are not setting names",
	// after the setting was deleted there, say): they keep their last
	// values and are left out of the queries until declared again or found
	// on the service again (see [MissingSettingsError]).
	Missing []string
}

// Status returns the client's current state. It is safe to call at any time.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.status
	st.Tracked = len(c.tracked)
	st.PendingDeclarations = len(c.queue)
	if c.declBusy {
		st.PendingDeclarations++
	}
	st.RetryingDeclarations = len(c.retrying)
	for _, ce := range c.conflicts {
		st.Conflicts = append(st.Conflicts, *ce)
	}
	if len(c.missing) > 0 {
		st.Missing = slices.Sorted(maps.Keys(c.missing))
	}
	slices.SortFunc(st.Conflicts, func(a, b ConflictError) int { return strings.Compare(a.Setting, b.Setting) })
	return st
}
