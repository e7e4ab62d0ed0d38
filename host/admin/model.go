package admin

import (
	"context"
	"encoding/json"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/hostapi"
)

// Backend is what the admin server shows and serves. Implementations must
// be safe for concurrent use and must not block on the update loop.
type Backend interface {
	// Snapshot returns the host's current state for display.
	Snapshot() Snapshot
	// Lookup resolves setting for features (others take the host's context
	// defaults), without the declaration check plugins are subject to.
	Lookup(ctx context.Context, setting string, features []hostapi.Feature) (hostapi.Value, error)
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
	Time     time.Time         `json:"time"`
	Service  ServiceStatus     `json:"service"`
	Update   UpdateStatus      `json:"last_update"`
	Settings []SettingStatus   `json:"settings"`
	Plugins  []PluginStatus    `json:"plugins"`
	Events   []EventRecord     `json:"events"`
	Context  map[string]string `json:"context_defaults,omitempty"`
}

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
}

// UpdateStatus describes the last update attempt.
type UpdateStatus struct {
	Time                time.Time     `json:"time,omitzero"`
	ETag                string        `json:"etag"`
	Result              string        `json:"result"` // "ok", "not_modified", "error", or "" before any
	Error               string        `json:"error,omitempty"`
	ConsecutiveFailures int           `json:"consecutive_failures"`
	LastSuccess         time.Time     `json:"last_success,omitzero"`
	Duration            time.Duration `json:"duration_ns"`
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
}

// FromStatus fills the runtime's part of a PluginStatus from s.
func FromStatus(s hostapi.Status) PluginStatus {
	return PluginStatus{
		Name: s.Name, Kind: s.Kind, State: s.State.String(),
		LastError: s.LastError, LastErrorAt: s.LastErrorAt, Restarts: s.Restarts,
		Calls: s.Calls, Errors: s.Errors, Timeouts: s.Timeouts, Lookups: s.Lookups,
		Detail: s.Detail,
	}
}

// EventRecord is one recent event, summarised for display.
type EventRecord struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Summary string    `json:"summary"`
}
