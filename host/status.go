package host

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/host/admin"
	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/internal/version"
	"github.com/heksher-go/heksher/pluginapi"
)

// Snapshot implements admin.Backend: everything the status page shows.
func (h *Host) Snapshot() admin.Snapshot {
	s := admin.Snapshot{
		Version: version.String(),
		Time:    time.Now(),
		Service: admin.ServiceStatus{URL: h.ServiceURL(), Embedded: h.cfg.Service.URL == "", Serving: h.serving()},
		Update:  h.rec.lastUpdate(),
		Plugins: h.pluginStatuses(),
		Events:  h.rec.recent(),
		Context: maps.Clone(h.cfg.ContextDefaults),

		ContextFeatures: slices.Clone(h.cfg.ContextFeatures),
	}
	if s.Service.Serving == string(heksher.OriginSnapshot) {
		s.Service.SnapshotTime = h.client.Status().SnapshotSaved
	}
	h.serviceState(&s.Service)
	s.Relay = h.relayStatus()
	if h.metrics != nil {
		s.History = h.metrics.History().Snapshot(s.Time)
	}
	for _, d := range h.reg.list() {
		ss := admin.SettingStatus{
			Name: d.decl.Name, Type: d.decl.Type, Version: d.decl.Version,
			ConfigurableFeatures: d.decl.ConfigurableFeatures, DeclaredBy: d.owners,
			Outcome: h.rec.outcome(d.decl.Name), LocalDefault: d.decl.Default,
		}
		h.settingsMu.RLock()
		set := h.settings[d.decl.Name]
		h.settingsMu.RUnlock()
		if set != nil {
			ss.RuleSet = set.RuleSet()
		}
		v, err := h.lookup(context.Background(), d.decl.Name, nil)
		var missing *heksher.MissingFeatureError
		switch {
		case errors.As(err, &missing):
			// Not a fault: the value depends on a feature the context
			// defaults do not give; the lookup API answers per request.
			ss.Source = "depends on " + missing.Feature
			ss.Missing = []string{missing.Feature}
		case err != nil:
			ss.Error = err.Error()
		default:
			ss.Value, ss.Source, ss.RuleID = json.RawMessage(v.JSON), v.Source.String(), v.RuleID
		}
		s.Settings = append(s.Settings, ss)
	}
	return s
}

// serving says where values come from: "service", "snapshot" or "defaults"
// ("starting" before the client runs).
func (h *Host) serving() string {
	// ready is stored after client is set, so reading client after it is
	// safe from the admin server's goroutines.
	if !h.ready.Load() || h.client == nil {
		return "starting"
	}
	return string(h.client.Status().Origin)
}

// serviceState fills the banner's facts from the client's own status (not
// from the recorder, which may lag behind it): values from the service are
// "fresh" only while the latest update succeeded.
func (h *Host) serviceState(ss *admin.ServiceStatus) {
	if ss.Serving == "starting" {
		ss.State = admin.StateStarting
		return
	}
	st := h.client.Status()
	ss.ConsecutiveFailures, ss.LastSuccess = st.ConsecutiveFailures, st.LastSuccess
	ss.Missing = st.Missing
	if st.LastError != nil {
		ss.LastError = st.LastError.Error()
	}
	if st.ConsecutiveFailures > 0 {
		ss.FailingSince = h.rec.failing()
		if ss.FailingSince.IsZero() || ss.FailingSince.Before(st.LastSuccess) {
			// The recorder has not seen this run's failures yet.
			ss.FailingSince = st.LastAttempt
		}
	}
	switch {
	case st.Origin == heksher.OriginSnapshot:
		ss.State = admin.StateSnapshot
	case st.Origin == heksher.OriginDefaults:
		ss.State = admin.StateDefaults
	case st.ConsecutiveFailures > 0:
		ss.State = admin.StateStale
	default:
		ss.State = admin.StateFresh
	}
}

func (h *Host) settingCount() int {
	h.settingsMu.RLock()
	defer h.settingsMu.RUnlock()
	return len(h.settings)
}

// pluginStatuses merges each plugin's runtime status with its queue
// counters, followed by plugins that failed to load.
func (h *Host) pluginStatuses() []admin.PluginStatus {
	stats := map[string]int{}
	ds := h.disp.Stats()
	for i, st := range ds {
		stats[st.Name] = i
	}
	var out []admin.PluginStatus
	for _, lp := range h.mgr.snapshot() {
		ps := admin.FromStatus(lp.plugin.Status())
		ps.Name, ps.Path, ps.SHA256, ps.LoadedAt, ps.QueueSize = lp.spec.Name, lp.spec.Path, lp.sha, lp.loadedAt, lp.spec.QueueSize
		if i, ok := stats[lp.spec.Name]; ok {
			ps.Queued, ps.Delivered, ps.Dropped = ds[i].Queued, ds[i].Delivered, ds[i].Dropped
			if ps.LastError == "" && ds[i].LastError != nil {
				// A runtime that counted an error without its text: the
				// queue saw what the delivery returned.
				ps.LastError = ds[i].LastError.Error()
			}
		}
		if lp.gate != nil {
			ps.Dropped += lp.gate.lostCount() // kept for it while it loaded, then dropped
		}
		ps.Conflicts = h.conflictsOf(lp)
		out = append(out, ps)
	}
	for _, sp := range h.mgr.startingSnapshot() {
		out = append(out, admin.PluginStatus{Name: sp.Name, Kind: sp.Kind, Path: sp.Path,
			State: pluginapi.StateStarting.String(), QueueSize: sp.QueueSize})
	}
	for _, hk := range h.opts.hooks {
		qs := hk.QueueSize
		if qs <= 0 {
			qs = config.DefaultPluginQueueSize // what the dispatcher gave it
		}
		ps := admin.PluginStatus{Name: hk.Name, Kind: "go", State: pluginapi.StateRunning.String(), QueueSize: qs}
		if i, ok := stats[hk.Name]; ok {
			st := ds[i]
			ps.Queued, ps.Delivered, ps.Dropped = st.Queued, st.Delivered, st.Dropped
			ps.Calls = st.Delivered + st.Failed + st.Panics + st.Abandoned
			ps.Errors = st.Failed + st.Panics + st.Abandoned
			ps.Timeouts = st.Abandoned
			if st.LastError != nil {
				ps.LastError = st.LastError.Error()
			}
		}
		out = append(out, ps)
	}
	h.failedMu.Lock()
	out = append(out, h.failed...)
	h.failedMu.Unlock()
	return out
}
