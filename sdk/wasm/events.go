package wasm

import (
	"time"

	"github.com/heksher-go/heksher/internal/abi"
)

// The event types below are views over the host's event buffer: they and
// every string or []byte they return are valid only until the handler
// returns (the host reuses the buffer). Copy what you keep, e.g. with
// strings.Clone or bytes.Clone.

// Declared reports how the server answered the declaration of one setting.
type Declared struct{ e abi.Declared }

// Setting returns the declared setting's name.
func (e Declared) Setting() string { return str(e.e.Setting) }

// Version returns the declared version.
func (e Declared) Version() string { return str(e.e.Version) }

// Outcome returns the server's outcome ("created", "uptodate", "upgraded",
// "outdated", "mismatch", "rejected", …), or "" when the declaration failed.
func (e Declared) Outcome() string { return str(e.e.Outcome) }

// LatestVersion returns the server's latest version for an "outdated" outcome.
func (e Declared) LatestVersion() string { return str(e.e.LatestVersion) }

// Differences returns the server's "differences" as wire JSON, or nil.
func (e Declared) Differences() []byte { return e.e.Differences }

// Tracked reports whether the client now keeps the setting up to date.
func (e Declared) Tracked() bool { return e.e.Tracked }

// Err returns the failure's message, or "" if the declaration succeeded.
func (e Declared) Err() string { return str(e.e.Err) }

// UpdateOK reports a successful update attempt.
type UpdateOK struct{ e abi.UpdateOK }

// NotModified reports a 304 answer.
func (e UpdateOK) NotModified() bool { return e.e.NotModified }

// ETag returns the ETag in force after the update.
func (e UpdateOK) ETag() string { return str(e.e.ETag) }

// Duration returns how long the attempt took.
func (e UpdateOK) Duration() time.Duration { return time.Duration(e.e.DurationNS) }

// Changed returns the names of the settings that changed.
func (e UpdateOK) Changed() Strings { return Strings{e.e.Changed.Len(), e.e.Changed.Iter()} }

// Rejected returns the values the client refused.
func (e UpdateOK) Rejected() Rejections {
	return Rejections{e.e.Rejected.Len(), e.e.Rejected.Iter()}
}

// Strings iterates over a list of strings:
//
//	for it := e.Changed(); ; {
//		s, ok := it.Next()
//		if !ok { break }
//		…
//	}
type Strings struct {
	n  int
	it abi.StrsIter
}

// Len returns the number of strings.
func (s *Strings) Len() int { return s.n }

// Next returns the next string; ok is false at the end.
func (s *Strings) Next() (string, bool) {
	b, ok := s.it.Next()
	return str(b), ok
}

// Rejections iterates over refused values.
type Rejections struct {
	n  int
	it abi.RejectedIter
}

// Len returns the number of refused values.
func (r *Rejections) Len() int { return r.n }

// Next returns the next refused value; ok is false at the end.
func (r *Rejections) Next() (Rejected, bool) {
	v, ok := r.it.Next()
	return Rejected{v}, ok
}

// Rejected is one value the client refused.
type Rejected struct{ r abi.Rejected }

// Setting returns the setting's name.
func (r Rejected) Setting() string { return str(r.r.Setting) }

// Default reports that the refused value was the server default.
func (r Rejected) Default() bool { return r.r.Default }

// RuleID returns the refused rule's id (0 for a default).
func (r Rejected) RuleID() int64 { return r.r.RuleID }

// Conditions returns the refused rule's conditions.
func (r Rejected) Conditions() Conditions {
	return Conditions{r.r.Conditions.Len(), r.r.Conditions.Iter()}
}

// Value returns the refused value as wire JSON.
func (r Rejected) Value() []byte { return r.r.Value }

// Reason says why it was refused.
func (r Rejected) Reason() string { return str(r.r.Reason) }

// UpdateError reports a failed update attempt.
type UpdateError struct{ e abi.UpdateError }

// Message returns the failure's message.
func (e UpdateError) Message() string { return str(e.e.Message) }

// ConsecutiveFailures counts failed attempts since the last success,
// this one included.
func (e UpdateError) ConsecutiveFailures() int { return int(e.e.ConsecutiveFailures) }

// LastSuccess returns when the last successful update finished; zero if none.
func (e UpdateError) LastSuccess() time.Time {
	if e.e.LastSuccessUnixNano == 0 {
		return time.Time{}
	}
	return time.Unix(0, e.e.LastSuccessUnixNano)
}

// Duration returns how long the attempt took.
func (e UpdateError) Duration() time.Duration { return time.Duration(e.e.DurationNS) }

// SettingChanged reports that one setting's rules or server default changed.
type SettingChanged struct{ e abi.SettingChanged }

// Setting returns the setting's name.
func (e SettingChanged) Setting() string { return str(e.e.Setting) }

// Initial reports a start-up change: the setting's old rules were never
// retrieved, so this event carries the first values the host holds for it
// (its first update after it started, or after the setting was declared),
// not a change made on the service. An alerting plugin skips these.
func (e SettingChanged) Initial() bool { return !e.e.Old.Retrieved }

// Old returns the rule set before the update.
func (e SettingChanged) Old() RuleSet { return RuleSet{e.e.Old} }

// New returns the rule set after the update.
func (e SettingChanged) New() RuleSet { return RuleSet{e.e.New} }

// RuleSet is a setting's rules and server default.
type RuleSet struct{ rs abi.RuleSet }

// Retrieved reports whether the setting had appeared in a query answer.
func (r RuleSet) Retrieved() bool { return r.rs.Retrieved }

// Default returns the server default as wire JSON; ok is false if none.
func (r RuleSet) Default() (value []byte, ok bool) { return r.rs.Default, r.rs.HasDefault }

// Rules returns an iterator over the rules, in the server's order.
func (r RuleSet) Rules() Rules { return Rules{r.rs.Rules.Len(), r.rs.Rules.Iter()} }

// Rules iterates over rules.
type Rules struct {
	n  int
	it abi.RuleIter
}

// Len returns the number of rules.
func (r *Rules) Len() int { return r.n }

// Next returns the next rule; ok is false at the end.
func (r *Rules) Next() (Rule, bool) {
	v, ok := r.it.Next()
	return Rule{v}, ok
}

// Rule is one rule of a setting.
type Rule struct{ r abi.Rule }

// ID returns the server's rule id.
func (r Rule) ID() int64 { return r.r.ID }

// Value returns the rule's value as wire JSON.
func (r Rule) Value() []byte { return r.r.Value }

// Conditions returns the rule's conditions, in the server's order.
func (r Rule) Conditions() Conditions { return Conditions{r.r.Conditions.Len(), r.r.Conditions.Iter()} }

// Conditions iterates over feature = value conditions.
type Conditions struct {
	n  int
	it abi.PairsIter
}

// Len returns the number of conditions.
func (c *Conditions) Len() int { return c.n }

// Next returns the next condition; ok is false at the end.
func (c *Conditions) Next() (feature, value string, ok bool) {
	f, v, ok := c.it.Next()
	return str(f), str(v), ok
}
