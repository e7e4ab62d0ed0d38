package admin

import (
	"context"
	"encoding/json"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
)

// Backend is what the admin server shows and serves. Implementations must
// be safe for concurrent use and must not block on the update loop.
type Backend interface {
	// Snapshot returns the host's current state for display.
	Snapshot() Snapshot
	// Lookup resolves setting for features (others take the host's context
	// defaults), without the declaration check plugins are subject to.
	Lookup(ctx context.Context, setting string, features []pluginapi.Feature) (pluginapi.Value, error)
	// Reload re-reads the configuration and applies its plugin set; a failed
	// reload leaves the running set as it was.
	Reload(ctx context.Context) error
	// Ready reports whether the host is serving values (live, from its
	// snapshot, or from defaults after the start-up timeout).
	Ready() bool
}

// Snapshot is everything the status page shows. The JSON form is served at
// /api/v1/status.
type Snapshot struct {
	// Version is the host's version (internal/version: the one
	// heksher-host -version prints).
	Version  string            `json:"version"`
	Time     time.Time         `json:"time"`
	Service  ServiceStatus     `json:"service"`
	Update   UpdateStatus      `json:"last_update"`
	Settings []SettingStatus   `json:"settings"`
	Plugins  []PluginStatus    `json:"plugins"`
	Events   []EventRecord     `json:"events"`
	Context  map[string]string `json:"context_defaults,omitempty"`
	// ContextFeatures are the service's context features in order: the
	// status page offers one input for each, to show the values for a
	// context the viewer picks.
	ContextFeatures []string `json:"context_features,omitempty"`
	// History is the last hour of updates and deliveries, per minute; nil
	// when nothing keeps it.
	History *HistorySnapshot `json:"history,omitempty"`
	// Relay is the relay's state; nil when relay mode is off.
	Relay *RelayStatus `json:"relay,omitempty"`
}

// The states of [ServiceStatus.State].
const (
	StateStarting = "starting" // before the start-up decision
	StateFresh    = "fresh"    // from the service, and the last update succeeded
	StateStale    = "stale"    // from the service, but updates have failed since
	StateSnapshot = "snapshot" // from the snapshot saved by an earlier run
	StateDefaults = "defaults" // nothing received: local (or declared) defaults
)

// ServiceStatus describes the Heksher service in use.
type ServiceStatus struct {
	// URL is the service's base URL.
	URL string `json:"url"`
	// Embedded is true when the service is the in-process server.
	Embedded bool `json:"embedded"`
	// Serving says where values come from: "service" (the service
	// answered), "snapshot" (the last good answer saved in the state
	// directory), or "defaults" (neither; local defaults only); "starting"
	// before the start-up decision.
	Serving string `json:"serving"`
	// SnapshotTime is when the snapshot being served was saved, if any.
	SnapshotTime time.Time `json:"snapshot_time,omitzero"`
	// State sums up Serving and the updates for the page's banner:
	// [StateFresh], [StateStale], [StateSnapshot], [StateDefaults] or
	// [StateStarting]. Unlike Serving, it leaves "fresh" at the first
	// failed update.
	State string `json:"state"`
	// FailingSince is when updates started failing: the first failed
	// attempt after the last success (zero while they succeed).
	FailingSince time.Time `json:"failing_since,omitzero"`
	// ConsecutiveFailures counts failed update attempts since the last
	// success; LastSuccess is when that was; LastError is the latest
	// attempt's error while failing.
	ConsecutiveFailures int       `json:"consecutive_failures"`
	LastSuccess         time.Time `json:"last_success,omitzero"`
	LastError           string    `json:"last_error,omitempty"`
	// Missing lists the settings the host tracks that the service says do
	// not exist (deleted there): they keep their last values and are left
	// out of the queries until declared again.
	Missing []string `json:"missing_settings,omitempty"`
}

// UpdateStatus describes the last update attempt, with running totals.
type UpdateStatus struct {
	Time                time.Time     `json:"time,omitzero"`
	ETag                string        `json:"etag"`
	Result              string        `json:"result"` // "ok", "not_modified", "error", or "" before any
	Error               string        `json:"error,omitempty"`
	ConsecutiveFailures int           `json:"consecutive_failures"`
	LastSuccess         time.Time     `json:"last_success,omitzero"`
	Duration            time.Duration `json:"duration_ns"`
	// Attempts, Errors and NotModified count the attempts seen since the
	// host started, the failed ones and those answered 304.
	Attempts    uint64 `json:"attempts"`
	Errors      uint64 `json:"errors"`
	NotModified uint64 `json:"not_modified"`
	// LastError and LastErrorAt are the latest failure's, kept after a
	// success.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// SettingStatus describes one setting.
type SettingStatus struct {
	Name                 string          `json:"name"`
	Type                 string          `json:"type"`
	Version              string          `json:"version"`
	ConfigurableFeatures []string        `json:"configurable_features"`
	DeclaredBy           []string        `json:"declared_by"` // "host" and/or plugin names
	Outcome              string          `json:"declaration_outcome"`
	LocalDefault         json.RawMessage `json:"local_default,omitempty"`
	RuleSet              event.RuleSet   `json:"rule_set"`
	// Value is the value for the host's context defaults, and Source where
	// it came from; Error is set when that lookup failed.
	Value  json.RawMessage `json:"value,omitempty"`
	Source string          `json:"source,omitempty"`
	RuleID int64           `json:"rule_id,omitempty"`
	Error  string          `json:"error,omitempty"`
	// Missing names the configurable features the context lacks (neither
	// given nor defaulted) when the value depends on them: not a fault, the
	// value is per request.
	Missing []string `json:"missing_features,omitempty"`
}

// PluginStatus describes one plugin: the runtime's status plus the host's
// queue counters.
type PluginStatus struct {
	Name        string            `json:"name"`
	Kind        string            `json:"kind"`
	State       string            `json:"state"`
	Path        string            `json:"path"`
	SHA256      string            `json:"sha256"`
	LoadedAt    time.Time         `json:"loaded_at,omitzero"`
	LastError   string            `json:"last_error,omitempty"`
	LastErrorAt time.Time         `json:"last_error_at,omitzero"`
	Restarts    int               `json:"restarts"`
	Calls       uint64            `json:"calls"`
	Errors      uint64            `json:"errors"`
	Timeouts    uint64            `json:"timeouts"`
	Lookups     uint64            `json:"lookups"`
	QueueSize   int               `json:"queue_size"`
	Queued      int               `json:"queued"`
	Delivered   uint64            `json:"delivered"`
	Dropped     uint64            `json:"dropped"`
	Detail      map[string]string `json:"detail,omitempty"`

	// OutputDroppedLines and OutputDroppedBytes count the plugin's output
	// lost to its output budget (lines dropped whole; their bytes and the
	// tails cut off long lines).
	OutputDroppedLines uint64 `json:"output_dropped_lines"`
	OutputDroppedBytes uint64 `json:"output_dropped_bytes"`

	// Conflicts are the plugin's declarations that the service refused as
	// conflicting with its own (409), each as the conflict's message; the
	// service's declaration is in force for them.
	Conflicts []string `json:"conflicts,omitempty"`
}

// FromStatus fills the runtime's part of a PluginStatus from s.
func FromStatus(s pluginapi.Status) PluginStatus {
	return PluginStatus{
		Name: s.Name, Kind: s.Kind, State: s.State.String(),
		LastError: s.LastError, LastErrorAt: s.LastErrorAt, Restarts: s.Restarts,
		Calls: s.Calls, Errors: s.Errors, Timeouts: s.Timeouts, Lookups: s.Lookups,
		OutputDroppedLines: s.OutputDroppedLines, OutputDroppedBytes: s.OutputDroppedBytes,
		Detail: s.Detail,
	}
}

// EventRecord is one recent event, summarised for display, or a run of
// repeated events (304 polls, the same update error) collapsed into one:
// Seq and Time are the first's, LastSeq and LastTime the latest's, Count
// how many there were, and Summary the latest's.
type EventRecord struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	Summary  string    `json:"summary"`
	Count    int       `json:"count,omitempty"` // 0 or 1: a single event
	LastSeq  uint64    `json:"last_seq,omitempty"`
	LastTime time.Time `json:"last_time,omitzero"`
}
