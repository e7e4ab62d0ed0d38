package heksher

import (
	"encoding/json"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/resolve"
)

// Source says where a resolved value came from. It is [event.Source], the
// one type the client, the plugin contract and the plugin runtimes share.
type Source = event.Source

// The sources of a value, from the most to the least specific.
const (
	SourceRule          = event.SourceRule          // a rule matched
	SourceServerDefault = event.SourceServerDefault // no rule matched; the server's default
	SourceLocalDefault  = event.SourceLocalDefault  // no rule matched and no server default was accepted
)

// Resolution is a resolved value together with where it came from, as
// returned by [Setting.Lookup].
type Resolution[T any] struct {
	// Value is the resolved value (shared: treat slices and maps as
	// read-only).
	Value T
	// Source says whether a rule, the server default or the local default
	// gave the value.
	Source Source
	// RuleID is the id of the matching rule (0 for stub rules and for
	// defaults).
	RuleID int64
	// Conditions are the matching rule's conditions in the server's order
	// (nil for defaults). Read-only.
	Conditions []Condition
	// Retrieved is false when the setting never received a rule set.
	Retrieved bool
	// Conflict is the conflict the service reported when the setting was
	// declared (a *[ConflictError]), nil if none: then the value may be the
	// local default because the service's declaration differs.
	Conflict error
}

// JSONResolution is a [Resolution] with the value as wire JSON, for callers
// that handle settings of any type (see [AnySetting]).
type JSONResolution struct {
	Value      json.RawMessage `json:"value"`
	Source     Source          `json:"source"`
	RuleID     int64           `json:"rule_id,omitempty"`
	Conditions []Condition     `json:"conditions,omitempty"`
	Retrieved  bool            `json:"retrieved"`
	// Conflict is the text of Resolution.Conflict, "" if none.
	Conflict string `json:"conflict,omitempty"`
}

// snapshot is everything Get reads, swapped in as one immutable value.
type snapshot[T any] struct {
	retrieved bool
	from      supplier       // who supplied the rules (nil if none yet)
	table     *resolve.Table // nil until retrieved
	values    []T            // by accepted-rule index
	rules     []event.Rule   // accepted rules, server order, wire values
	// the server default, if one was ever accepted
	hasDefault    bool
	serverDefault T
	defaultWire   json.RawMessage
	// scoped is set while a scoped stub holds a value for the setting:
	// only then does a read look in its context for one. Reading it costs
	// nothing more than the snapshot a read loads anyway.
	scoped bool
}

// ruleSet is the snapshot as an event.RuleSet (fresh slices).
func (sn *snapshot[T]) ruleSet() event.RuleSet {
	if sn == nil {
		return event.RuleSet{Rules: []event.Rule{}}
	}
	rs := event.RuleSet{Retrieved: sn.retrieved, Rules: make([]event.Rule, len(sn.rules))}
	// One backing array for all conditions and one for all values: three
	// allocations per rule set instead of two per rule. Each rule's slices
	// are capped so that an append by a receiver cannot spill into the next.
	nc, nv := 0, 0
	for _, r := range sn.rules {
		nc += len(r.Conditions)
		nv += len(r.Value)
	}
	conds := make([]Condition, 0, nc)
	vals := make([]byte, 0, nv)
	for i, r := range sn.rules {
		c0, v0 := len(conds), len(vals)
		conds = append(conds, r.Conditions...)
		vals = append(vals, r.Value...)
		rs.Rules[i] = event.Rule{ID: r.ID, Conditions: conds[c0:len(conds):len(conds)], Value: vals[v0:len(vals):len(vals)]}
		if len(r.Conditions) == 0 { // as append to nil would give
			rs.Rules[i].Conditions = nil
		}
		if len(r.Value) == 0 {
			rs.Rules[i].Value = nil
		}
	}
	if sn.hasDefault {
		rs.Default = append(json.RawMessage(nil), sn.defaultWire...)
	}
	return rs
}
