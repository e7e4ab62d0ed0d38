// Package pluginapi is the contract between the plugin host and its plugin
// runtimes: what a loaded plugin looks like to the host ([Plugin]), what the
// host offers plugins ([Settings]), and what a plugin declares at start-up
// ([Manifest], [Declaration]).
//
// host/wasm and host/process implement [Plugin]; package host implements
// [Settings] on top of the client core and fans events out to every [Plugin].
// This package imports only the leaf package event, so the runtimes never
// import host.
package pluginapi

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/heksher-go/heksher/event"
)

// Errors a [Settings] lookup returns; runtimes map them to their own status
// codes (the wasm ABI's NOT_FOUND, NOT_DECLARED, BAD_CONTEXT).
var (
	// ErrNotFound: no setting of that name is known to the host.
	ErrNotFound = errors.New("pluginapi: setting not found")
	// ErrNotDeclared: the setting exists but the asking plugin did not declare it.
	ErrNotDeclared = errors.New("pluginapi: setting not declared by this plugin")
	// ErrBadContext: the context names a feature the setting is not
	// configurable by, or lacks one that resolution needs.
	ErrBadContext = errors.New("pluginapi: bad context for setting")
)

// Feature is one context-feature value of a lookup.
type Feature struct {
	Name  string
	Value string
}

// Source says where a looked-up value came from: [event.Source], the same
// type as heksher.Source.
type Source = event.Source

// The sources of a value, in the order resolution tries them.
const (
	SourceRule          = event.SourceRule          // a rule matched
	SourceServerDefault = event.SourceServerDefault // no rule matched; the server's default
	SourceLocalDefault  = event.SourceLocalDefault  // no rule matched and no server default was accepted
)

// Origin says where the rules behind a looked-up value came from: the
// service's latest answer, the snapshot file saved from an earlier one, or
// nothing at all (the declaration's default). It complements [Source],
// which says whether a rule or a default gave the value.
type Origin uint8

// The origins of a value. The zero value, OriginUnknown, is what a
// [Settings] that does not say answers.
const (
	OriginUnknown  Origin = iota // not said
	OriginService                // the service's latest answer
	OriginSnapshot               // the snapshot file, saved from an earlier answer of the service
	OriginDefaults               // no rules received for the setting: its declared default
)

// String returns the origin's lower-case name: "service", "snapshot",
// "defaults" or "unknown".
func (o Origin) String() string {
	switch o {
	case OriginService:
		return "service"
	case OriginSnapshot:
		return "snapshot"
	case OriginDefaults:
		return "defaults"
	}
	return "unknown"
}

// MarshalText encodes the origin as its name.
func (o Origin) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Value is the result of a lookup.
type Value struct {
	// JSON is the value as wire JSON; shared, read-only.
	JSON json.RawMessage
	// Source says where it came from.
	Source Source
	// Origin says where the rules it was resolved from came from.
	Origin Origin
	// RuleID and Conditions identify the matching rule when Source is
	// SourceRule.
	RuleID     int64
	Conditions []event.Condition
}

// Settings is what the host offers plugins: setting lookups. It is safe for
// concurrent use and never blocks on the update loop.
type Settings interface {
	// Lookup resolves setting for the given feature values, as seen by the
	// plugin named plugin (which must have declared the setting unless the
	// host allows undeclared reads). Features not given take the host's
	// context defaults.
	//
	// # Errors
	//
	// [ErrNotFound], [ErrNotDeclared], [ErrBadContext] (wrapped, with detail).
	Lookup(ctx context.Context, plugin, setting string, features []Feature) (Value, error)
}

// InitDeclarer is implemented by a [Settings] that registers a plugin's
// declarations as the plugin makes them while it initialises (the wasm
// runtime calls it from the declare host function), so that the plugin's
// lookups during the same initialisation find them. The declaration still
// becomes part of the plugin's [Manifest], which the host checks when it
// commits the plugin; a declaration the host refuses here is refused again
// there, with the reason, so runtimes only log DeclareAtInit's error. It
// must not block for long: the host bounds whatever it asks the service
// for. Safe for concurrent use.
type InitDeclarer interface {
	DeclareAtInit(ctx context.Context, plugin string, d Declaration) error
}

// Declaration is a setting a plugin reads, declared to Heksher by the host on
// the plugin's behalf before the host's first update.
type Declaration struct {
	// Name is the setting's name.
	Name string `json:"name"`
	// Type is a Heksher type string, e.g. "int" or `Enum["a","b"]`.
	Type string `json:"type"`
	// ConfigurableFeatures are the context features its rules may use, in
	// resolution order.
	ConfigurableFeatures []string `json:"configurable_features"`
	// Default is the local default as wire JSON.
	Default json.RawMessage `json:"default_value"`
	// Version is the declaration's version; "" means "1.0".
	Version string `json:"version,omitempty"`
	// Metadata is sent with the declaration; nil means {}.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// AllSettings, in [Manifest.Settings], selects every setting's
// setting_changed events.
const AllSettings = "*"

// Manifest is what a plugin tells the host when it is initialised.
type Manifest struct {
	// Subscriptions are the event kinds the plugin wants.
	Subscriptions event.Set
	// Declarations are the settings the plugin reads.
	Declarations []Declaration
	// Settings selects, besides its declarations, the settings whose
	// setting_changed events the plugin receives (when it subscribes to
	// the kind): names, or [AllSettings] for every setting the host
	// tracks. nil: the declared settings only. A selected setting the
	// plugin may not read (it did not declare it, and the host does not
	// grant undeclared reads) still arrives, marked
	// [event.Delivery.Unreadable]. Runtimes give plugins built before the
	// selection existed (wasm guests that never call subscribe_setting,
	// process plugins whose InitResponse has no settings) [AllSettings],
	// what they always received.
	Settings []string
}

// WantsSetting reports whether the plugin receives the setting_changed
// events of setting: it declared it or selected it in Settings.
func (m Manifest) WantsSetting(setting string) bool {
	for _, s := range m.Settings {
		if s == AllSettings || s == setting {
			return true
		}
	}
	for _, d := range m.Declarations {
		if d.Name == setting {
			return true
		}
	}
	return false
}

// State is a plugin's life-cycle state as shown in the host's status.
type State uint8

// Plugin states.
const (
	StateStarting   State = iota + 1 // being loaded or initialised
	StateRunning                     // serving events and lookups
	StateRestarting                  // failed; waiting for its backoff before a restart
	StateFailed                      // gave up after too many failures; needs a reload
	StateStopped                     // closed
)

// String returns the state's lower-case name.
func (s State) String() string {
	switch s {
	case StateStarting:
		return "starting"
	case StateRunning:
		return "running"
	case StateRestarting:
		return "restarting"
	case StateFailed:
		return "failed"
	case StateStopped:
		return "stopped"
	}
	return "unknown"
}

// Status is a snapshot of a plugin's health and counters.
type Status struct {
	Name        string
	Kind        string // "wasm" or "process"
	State       State
	LastError   string
	LastErrorAt time.Time
	Restarts    int
	Calls       uint64 // event deliveries attempted
	Errors      uint64 // deliveries that failed (error status, trap, timeout, crash)
	Timeouts    uint64 // deliveries that hit their deadline
	Lookups     uint64 // lookups the plugin made through the host
	// OutputDroppedLines and OutputDroppedBytes count the plugin's output
	// lost to its [OutputBudget]: lines dropped whole, and their bytes plus
	// the tails cut off lines longer than the budget's MaxLine.
	OutputDroppedLines uint64
	OutputDroppedBytes uint64
	// Detail holds runtime-specific facts (memory pages, pid, …) for display.
	Detail map[string]string
}

// OutputBudget bounds what one plugin writes to the host's log, through
// every door it has (a wasm guest's log calls, stdout and stderr; a process
// plugin's stdout, stderr and log records): a token bucket of Burst bytes
// refilled at Rate bytes per second, each line costing its length plus 128
// bytes. A line longer than MaxLine is cut to MaxLine bytes (and marked); a
// line the bucket cannot pay for is dropped whole. Losses are counted in
// [Status] and summed up in one log line per Interval. The zero value of
// each field means its default: 1 MiB/s, a 256 KiB burst, 16 KiB lines and
// a 10 s interval.
type OutputBudget struct {
	Rate     int64 // bytes per second
	Burst    int64 // bytes; raised to at least MaxLine+128
	MaxLine  int   // bytes
	Interval time.Duration
}

// Plugin is a loaded plugin as the host sees it. Runtimes construct plugins
// already initialised (their [Manifest] known); the host then delivers events
// from one goroutine per plugin, so Deliver is never called concurrently with
// itself, but Status may be called from any goroutine at any time.
type Plugin interface {
	// Name is the plugin's configured name.
	Name() string
	// Manifest is what the plugin declared when it was initialised.
	Manifest() Manifest
	// Deliver hands one event to the plugin and waits for it to be handled,
	// at most until ctx ends (the host sets the plugin's deadline there). A
	// plugin that crashes or hangs is recovered by its runtime (a fresh
	// instance or process, initialised again) before the next delivery.
	Deliver(ctx context.Context, d event.Delivery) error
	// Status returns a snapshot of the plugin's state and counters.
	Status() Status
	// Close stops the plugin and releases everything it holds. Idempotent.
	Close(ctx context.Context) error
}

// Restarter is implemented by plugins whose runtime can restart them in
// place. The host calls Restart for a reload that finds the plugin failed
// (even when its configuration did not change) and for the admin API's
// restart of one plugin.
//
// Restart forgets the plugin's failures and restart backoff, discards its
// instance or process, and starts a fresh one, initialised again with the
// plugin's configuration (bounded by the plugin's start timeout and ctx);
// the plugin's state is then running. A restart that fails leaves the plugin
// restarting or failed under its runtime's restart policy, and returns the
// reason. Restart may be called from any goroutine, also while a delivery
// runs (it waits for the delivery, at most until ctx ends). After Close it
// returns an error matching the runtime's closed error.
type Restarter interface {
	Restart(ctx context.Context) error
}
