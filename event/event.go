// Package event defines the events that the Heksher client core emits while it
// declares settings and keeps them up to date, and that the plugin host fans out
// to plugins.
//
// It is a leaf package: it imports nothing of this module, so the client core,
// the dispatcher, the host and both plugin runtimes can share it without cycles.
//
// # Numbering
//
// Every event carries a [Header] whose Seq is assigned by the client that emits
// it: 1 for its first event, then strictly increasing by one. A subscriber that
// receives events through a bounded queue gets them wrapped in a [Delivery],
// numbered again per subscriber, so that an event dropped from a full queue
// shows as a gap (and in [Delivery.Dropped]).
//
// # Values
//
// Setting values travel as the JSON that Heksher itself uses on the wire
// ([json.RawMessage]); event structs are immutable once published and must be
// treated as read-only by every receiver.
package event

import (
	"encoding/json"
	"time"
)

// Kind names the kind of an [Event].
type Kind uint8

// The event kinds, in the order a client's life usually produces them.
const (
	KindDeclared       Kind = iota + 1 // a setting declaration was answered (or failed)
	KindUpdateOK                       // an update attempt succeeded (200 applied, or 304)
	KindUpdateError                    // an update attempt failed
	KindSettingChanged                 // a setting's rules or server default really changed
	KindClosing                        // the client is closing; the last event of its life
)

var kindNames = [...]string{
	KindDeclared:       "declared",
	KindUpdateOK:       "update_ok",
	KindUpdateError:    "update_error",
	KindSettingChanged: "setting_changed",
	KindClosing:        "closing",
}

// String returns the kind's wire name ("declared", "update_ok", "update_error",
// "setting_changed", "closing"), or "unknown".
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// ParseKind is the inverse of [Kind.String]; ok is false for an unknown name.
func ParseKind(name string) (k Kind, ok bool) {
	for i, n := range kindNames {
		if n != "" && n == name {
			return Kind(i), true
		}
	}
	return 0, false
}

// Set is a set of kinds, used for subscriptions. The zero Set is empty.
type Set uint32

// All is the set of every kind.
const All Set = 1<<KindDeclared | 1<<KindUpdateOK | 1<<KindUpdateError | 1<<KindSettingChanged | 1<<KindClosing

// SetOf returns the set holding kinds.
func SetOf(kinds ...Kind) Set {
	var s Set
	for _, k := range kinds {
		s |= 1 << k
	}
	return s
}

// Has reports whether k is in s.
func (s Set) Has(k Kind) bool { return s&(1<<k) != 0 }

// Kinds returns the kinds in s in ascending order.
func (s Set) Kinds() []Kind {
	var out []Kind
	for k := KindDeclared; k <= KindClosing; k++ {
		if s.Has(k) {
			out = append(out, k)
		}
	}
	return out
}

// Event is implemented by [*Declared], [*UpdateOK], [*UpdateError],
// [*SettingChanged] and [*Closing]. Receivers use a type switch.
type Event interface {
	// Kind returns the event's kind.
	Kind() Kind
	// Head returns the event's header.
	Head() Header
}

// Header is common to all events.
type Header struct {
	// Seq numbers the events of one client: 1 for the first, then +1 each.
	Seq uint64
	// Time is when the event happened.
	Time time.Time
}

// Head returns h; it lets every event struct satisfy part of [Event] by embedding.
func (h Header) Head() Header { return h }

// Condition is one exact-match condition of a rule: Feature = Value.
type Condition struct {
	Feature string `json:"feature"`
	Value   string `json:"value"`
}

// Rule is one rule of a setting as the server sent it.
type Rule struct {
	// ID is the server's rule id (0 for rules that did not come from a server).
	ID int64 `json:"rule_id"`
	// Conditions are the rule's conditions in the server's order.
	Conditions []Condition `json:"context_features"`
	// Value is the rule's value as wire JSON.
	Value json.RawMessage `json:"value"`
}

// RuleSet is what a client holds for one setting: its rules and its server
// default.
type RuleSet struct {
	// Retrieved is false until the setting first appears in a query answer.
	Retrieved bool `json:"retrieved"`
	// Rules are the accepted rules, in the server's order.
	Rules []Rule `json:"rules"`
	// Default is the accepted server default as wire JSON; nil when none was
	// ever accepted.
	Default json.RawMessage `json:"default_value,omitempty"`
}

// Declared reports how the server answered the declaration of one setting.
type Declared struct {
	Header
	// Setting is the declared name.
	Setting string
	// Version is the declared version string.
	Version string
	// Outcome is the server's outcome ("created", "uptodate", "upgraded",
	// "outdated", "mismatch", "rejected", …), or "" when the declaration failed
	// before an outcome could be read (then Err is set).
	Outcome string
	// LatestVersion is the server's latest version, for an "outdated" outcome.
	LatestVersion string
	// Differences is the server's "differences" list as wire JSON, if any.
	Differences json.RawMessage
	// Tracked reports whether the client now keeps the setting up to date.
	Tracked bool
	// Err is the failure, if the declaration failed; nil otherwise.
	Err error
}

// Kind returns [KindDeclared].
func (*Declared) Kind() Kind { return KindDeclared }

// RejectedValue is a server value that the client refused (B48, B50): a rule,
// or a server default (RuleID 0 and no conditions, Default true).
type RejectedValue struct {
	Setting    string          `json:"setting"`
	Default    bool            `json:"default,omitempty"`
	RuleID     int64           `json:"rule_id,omitempty"`
	Conditions []Condition     `json:"context_features,omitempty"`
	Value      json.RawMessage `json:"value"`
	Reason     string          `json:"reason"`
}

// UpdateOK reports a successful update attempt.
type UpdateOK struct {
	Header
	// NotModified is true for a 304 answer (nothing changed).
	NotModified bool
	// ETag is the ETag in force after the update.
	ETag string
	// Changed lists, in the order of the answer, the settings whose rules or
	// server default really changed (each also gets a [SettingChanged]).
	Changed []string
	// Rejected lists the server values the client refused in this update.
	Rejected []RejectedValue
	// Duration is how long the attempt took.
	Duration time.Duration
}

// Kind returns [KindUpdateOK].
func (*UpdateOK) Kind() Kind { return KindUpdateOK }

// UpdateError reports a failed update attempt; the last good values stay in
// force.
type UpdateError struct {
	Header
	// Err is the failure, never nil; use errors.As to inspect it.
	Err error
	// ConsecutiveFailures counts failed attempts since the last success,
	// this one included.
	ConsecutiveFailures int
	// LastSuccess is when the last successful update finished; zero if none.
	LastSuccess time.Time
	// Duration is how long the attempt took.
	Duration time.Duration
}

// Kind returns [KindUpdateError].
func (*UpdateError) Kind() Kind { return KindUpdateError }

// SinceLastSuccess is the time from the last success to this event, or 0 when
// there was none.
func (e *UpdateError) SinceLastSuccess() time.Duration {
	if e.LastSuccess.IsZero() {
		return 0
	}
	return e.Time.Sub(e.LastSuccess)
}

// SettingChanged reports that one setting's rules or server default differ
// from what the client held before.
type SettingChanged struct {
	Header
	// Setting is the setting's name.
	Setting string
	// Old and New are the rule sets before and after the update.
	Old, New RuleSet
}

// Kind returns [KindSettingChanged].
func (*SettingChanged) Kind() Kind { return KindSettingChanged }

// Initial reports a start-up change: the setting's old rules were never
// retrieved (Old.Retrieved is false), so New holds the first values the
// client has for it, from the first update after the client started or
// after the setting was declared, not a change made on the service.
func (e *SettingChanged) Initial() bool { return !e.Old.Retrieved }

// ClosingReason says why a subscriber receives a [Closing] event.
type ClosingReason uint8

// The reasons for a [Closing] event. The zero value is the client's own
// close, which is what every Closing the client core emits carries.
const (
	// ClosingShutdown: the client is closing (the plugin host stops).
	ClosingShutdown ClosingReason = iota
	// ClosingReplaced: the plugin host replaces the plugin with another
	// version of it (a configuration reload changed its file or
	// configuration); the new one is already loaded.
	ClosingReplaced
	// ClosingRemoved: the plugin host unloads the plugin because a
	// configuration reload removed it.
	ClosingRemoved
)

// String returns "shutdown", "replaced", "removed" or "unknown".
func (r ClosingReason) String() string {
	switch r {
	case ClosingShutdown:
		return "shutdown"
	case ClosingReplaced:
		return "replaced"
	case ClosingRemoved:
		return "removed"
	}
	return "unknown"
}

// Closing is the last event a subscriber receives: the client is closing,
// or (for a plugin) the plugin host is about to unload it.
type Closing struct {
	Header
	// Reason says why; the client core's own Closing carries
	// [ClosingShutdown], the zero value.
	Reason ClosingReason
}

// Kind returns [KindClosing].
func (*Closing) Kind() Kind { return KindClosing }

// Delivery is one event as handed to one subscriber through its own queue.
type Delivery struct {
	// Event is the event, shared by all subscribers: read-only.
	Event Event
	// Seq numbers this subscriber's deliveries: 1, 2, …; an event dropped from
	// the subscriber's full queue still consumed a number, so drops show as
	// gaps.
	Seq uint64
	// Dropped counts the events dropped from this subscriber's queue since
	// the previous delivery.
	Dropped uint64
	// Unreadable is set by the plugin host on a [SettingChanged] for a
	// setting the receiving plugin may not read: it neither declared it
	// nor has the operator's grant to read undeclared settings, so its
	// lookups of it fail with pluginapi.ErrNotDeclared.
	Unreadable bool
}
