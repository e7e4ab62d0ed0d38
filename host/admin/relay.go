package admin

// RelayStatus is the state of the host's relay (docs/RELAY.md), shown on
// the status page and in /api/v1/status when relay mode is on.
type RelayStatus struct {
	// URL is where downstream clients reach the relay.
	URL string `json:"url"`
	// Upstream is the service (or relay) it mirrors.
	Upstream string `json:"upstream"`
	// Ready says a snapshot is held; SnapshotAgeSeconds is the time since
	// the upstream last confirmed it.
	Ready              bool    `json:"ready"`
	SnapshotAgeSeconds float64 `json:"snapshot_age_seconds"`
	// Settings is the number of settings in the snapshot.
	Settings int `json:"settings"`
	// Failing says the last upstream attempt failed, LastError why; the
	// last good snapshot is served meanwhile.
	Failing   bool   `json:"failing"`
	LastError string `json:"last_error,omitempty"`
	// Watch says the upstream offers the watch (the relay long-polls).
	Watch bool `json:"watch"`
	// Counters since start.
	UpstreamRequests uint64 `json:"upstream_requests"`
	UpstreamErrors   uint64 `json:"upstream_errors"`
	Forwarded        uint64 `json:"forwarded"`
	Refused          uint64 `json:"refused"`
}
