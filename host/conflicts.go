package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/dispatch"
	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/admin"
	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/pluginapi"
)

// Declaration conflicts with the service. The client core records, per
// setting, a declaration the service refused as conflicting with its own
// (a 409) and publishes it in the declared event. The host attributes it
// to the plugins that declared the setting: each one's status lists it
// (live, from the setting), one ERROR line names the plugin, and the plugin
// receives the declared event like any other. A plugin configured with
// on_declaration_conflict: unload is then unloaded, after the service's
// answer and never inside its load: from the declared event when the
// plugin was running, or just after its commit when the answer came while
// it loaded (a setting it declared during its init, or one another owner
// declared first).

// conflictsName is the dispatcher name of the host's subscriber of
// declared events.
const conflictsName = "heksher-host-conflicts"

// conflictWatcher receives the declared events and attributes the
// conflicts among them to the plugins.
type conflictWatcher struct{ m *manager }

// Deliver attributes a declared event's conflict, if it has one.
func (w conflictWatcher) Deliver(_ context.Context, d event.Delivery) error {
	e, ok := d.Event.(*event.Declared)
	if !ok || e.Err == nil {
		return nil
	}
	if _, ok := errors.AsType[*heksher.ConflictError](e.Err); !ok {
		return nil
	}
	w.m.declarationConflict(e.Setting, e.Err)
	return nil
}

// subscribeConflicts subscribes the host's conflict watcher.
func (h *Host) subscribeConflicts() error {
	if err := h.disp.Subscribe(conflictsName, event.SetOf(event.KindDeclared), conflictWatcher{h.mgr},
		dispatch.QueueSize(256)); err != nil {
		return fmt.Errorf("host: %w", err)
	}
	return nil
}

// conflictOf returns the conflict the service reported for setting's
// declaration, nil if none.
func (h *Host) conflictOf(setting string) error {
	h.settingsMu.RLock()
	s := h.settings[setting]
	h.settingsMu.RUnlock()
	if s == nil {
		return nil
	}
	return s.DeclarationConflict()
}

// conflictsOf lists the conflicts of the settings lp declared, for its
// status.
func (h *Host) conflictsOf(lp *loadedPlugin) []string {
	var out []string
	for _, d := range lp.decls {
		if err := h.conflictOf(d.Name); err != nil {
			out = append(out, err.Error())
		}
	}
	return out
}

// recordUnloaded shows a plugin unloaded for a conflict as stopped, with
// the reason and the conflicts, in the status.
func (h *Host) recordUnloaded(spec config.Plugin, err error, conflicts []string) {
	h.failedMu.Lock()
	defer h.failedMu.Unlock()
	h.failed = slices.DeleteFunc(h.failed, func(p admin.PluginStatus) bool { return p.Name == spec.Name })
	h.failed = append(h.failed, admin.PluginStatus{Name: spec.Name, Kind: spec.Kind, Path: spec.Path,
		State: pluginapi.StateStopped.String(), LastError: err.Error(), LastErrorAt: time.Now(), Conflicts: conflicts})
}

// runLater runs f on the host's background goroutines, which Close waits
// for; after Close it does nothing.
func (h *Host) runLater(f func()) {
	h.bgMu.Lock()
	defer h.bgMu.Unlock()
	if h.bgCtx.Err() != nil {
		return
	}
	h.bg.Go(f)
}

// declarationConflict attributes the conflict err of setting to every
// running plugin that declared it.
func (m *manager) declarationConflict(setting string, err error) {
	m.mu.Lock()
	var unload []*loadedPlugin
	for _, lp := range m.running {
		for _, d := range lp.decls {
			if d.Name == setting && m.attributeLocked(lp, setting, err) {
				unload = append(unload, lp)
			}
		}
	}
	m.mu.Unlock()
	m.unloadLater(unload)
}

// checkConflictsLocked attributes the conflicts already known for the
// settings lp declares (answered while it loaded) and reports whether lp
// must be unloaded for them; m.mu is held.
func (m *manager) checkConflictsLocked(lp *loadedPlugin) bool {
	if m.conflictOf == nil {
		return false
	}
	unload := false
	for _, d := range lp.decls {
		if err := m.conflictOf(d.Name); err != nil && m.attributeLocked(lp, d.Name, err) {
			unload = true
		}
	}
	return unload
}

// attributeLocked logs, once per plugin load and setting, that the
// plugin's declaration conflicts with the service's, and reports whether
// the plugin is to be unloaded for it; m.mu is held.
func (m *manager) attributeLocked(lp *loadedPlugin, setting string, err error) bool {
	if m.attributed == nil {
		m.attributed = map[*loadedPlugin]map[string]bool{}
	}
	seen := m.attributed[lp]
	if seen == nil {
		seen = map[string]bool{}
		m.attributed[lp] = seen
	}
	if seen[setting] {
		return false
	}
	seen[setting] = true
	unload := lp.spec.OnDeclarationConflict == config.OnConflictUnload
	action := "the plugin keeps running with the service's declaration in force"
	if unload {
		action = "the plugin is unloaded (on_declaration_conflict: unload)"
	}
	m.log.Error("a plugin's declaration conflicts with the service's", "plugin", lp.spec.Name, "setting", setting,
		"err", err, "action", action)
	return unload
}

// unloadLater unloads each of lps on the host's background goroutines,
// never on the caller's: the caller may hold the manager's lock or be a
// load.
func (m *manager) unloadLater(lps []*loadedPlugin) {
	for _, lp := range lps {
		if m.later == nil {
			go m.unloadForConflict(lp)
			continue
		}
		m.later(func() { m.unloadForConflict(lp) })
	}
}

// unloadForConflict unloads lp, if it still runs, for the conflicts of its
// declarations: it receives a closing event saying it is removed (if it
// subscribed to closing events) and is closed, and the status shows it
// stopped with the reason.
func (m *manager) unloadForConflict(lp *loadedPlugin) {
	m.mu.Lock()
	if m.closed || m.running[lp.spec.Name] != lp {
		m.mu.Unlock()
		return
	}
	var conflicts []string
	var names []string
	for _, d := range lp.decls {
		if m.conflictOf == nil {
			break
		}
		if err := m.conflictOf(d.Name); err != nil {
			conflicts = append(conflicts, err.Error())
			names = append(names, d.Name)
		}
	}
	det, _ := m.disp.Detach(lp.spec.Name)
	delete(m.running, lp.spec.Name)
	delete(m.attributed, lp)
	m.reg.removeOwner(lp.spec.Name)
	m.orderLocked()
	m.publishView()
	m.saveDeclsLocked()
	m.mu.Unlock()
	reason := fmt.Errorf("unloaded: its declaration of %q conflicts with the service's (on_declaration_conflict: unload)", names)
	m.log.Warn("plugin unloaded for a declaration conflict", "plugin", lp.spec.Name, "settings", names)
	ctx, cancel := context.WithTimeout(m.background(), lp.spec.Deadline.D()+5*time.Second)
	defer cancel()
	m.retire(ctx, []*loadedPlugin{lp}, []dispatch.Detached{det}, nil)
	if m.onUnload != nil {
		m.onUnload(lp.spec, reason, conflicts)
	}
}
