package host

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"time"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/host/admin"
	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/host/hostapi"
)

// Snapshot implements admin.Backend: everything the status page shows.
func (h *Host) Snapshot() admin.Snapshot {
	s := admin.Snapshot{
		Time:    time.Now(),
		Service: admin.ServiceStatus{URL: h.ServiceURL(), Embedded: h.cfg.Service.URL == "", Serving: h.serving()},
		Update:  h.rec.lastUpdate(),
		Plugins: h.pluginStatuses(),
		Events:  h.rec.recent(),
		Context: maps.Clone(h.cfg.ContextDefaults),
	}
	if s.Service.Serving == string(heksher.OriginSnapshot) {
		s.Service.SnapshotTime = h.client.Status().SnapshotSaved
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
		}
		out = append(out, ps)
	}
	for _, hk := range h.opts.hooks {
		qs := hk.QueueSize
		if qs <= 0 {
			qs = config.DefaultPluginQueueSize // what the dispatcher gave it
		}
		ps := admin.PluginStatus{Name: hk.Name, Kind: "go", State: hostapi.StateRunning.String(), QueueSize: qs}
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
