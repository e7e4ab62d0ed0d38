package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
)

// LookupResult is the JSON answer of GET /api/v1/lookup/{setting}.
type LookupResult struct {
	Setting string `json:"setting"`
	// Context is the feature values given in the query.
	Context map[string]string `json:"context"`
	Value   json.RawMessage   `json:"value"`
	// Source is "rule", "server_default" or "local_default".
	Source     string            `json:"source"`
	RuleID     int64             `json:"rule_id,omitempty"`
	Conditions []event.Condition `json:"conditions,omitempty"`
}

// ErrorResult is the JSON body of every API error.
type ErrorResult struct {
	Error string `json:"error"`
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("setting")
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	features := make([]pluginapi.Feature, 0, len(keys))
	ctxMap := make(map[string]string, len(keys))
	for _, k := range keys {
		if len(q[k]) != 1 {
			writeJSON(w, http.StatusBadRequest, ErrorResult{Error: "admin: feature " + k + " given more than once"})
			return
		}
		features = append(features, pluginapi.Feature{Name: k, Value: q[k][0]})
		ctxMap[k] = q[k][0]
	}
	v, err := s.backend.Lookup(heksher.ExternalContext(r.Context()), name, features) // values chosen by the caller: untracked ones log at DEBUG
	if err != nil {
		status := http.StatusInternalServerError
		switch {
		case errors.Is(err, pluginapi.ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(err, pluginapi.ErrBadContext):
			status = http.StatusBadRequest
		}
		writeJSON(w, status, ErrorResult{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, LookupResult{
		Setting: name, Context: ctxMap, Value: v.JSON, Source: v.Source.String(),
		RuleID: v.RuleID, Conditions: v.Conditions,
	})
}

func (s *Server) statusJSON(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.backend.Snapshot())
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	if err := s.backend.Reload(r.Context()); err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, ErrorResult{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"result": "reloaded"})
}

// PluginRestarter is implemented by a [Backend] that can restart one
// plugin; the server answers POST /api/v1/plugins/{name}/restart with it
// (501 when the backend cannot).
type PluginRestarter interface {
	// RestartPlugin restarts the configured plugin name (see
	// pluginapi.Restarter), also one that failed to load. It returns an error
	// matching [ErrUnknownPlugin] when no plugin of that name is configured.
	RestartPlugin(ctx context.Context, name string) error
}

// ErrUnknownPlugin is returned by [PluginRestarter.RestartPlugin] for a
// name that no configured plugin has; the API answers it with 404.
var ErrUnknownPlugin = errors.New("admin: no plugin of that name is configured")

func (s *Server) restartPlugin(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	rs, ok := s.backend.(PluginRestarter)
	if !ok {
		writeJSON(w, http.StatusNotImplemented, ErrorResult{Error: "admin: this host cannot restart plugins"})
		return
	}
	if err := rs.RestartPlugin(r.Context(), name); err != nil {
		status := http.StatusUnprocessableEntity
		if errors.Is(err, ErrUnknownPlugin) {
			status = http.StatusNotFound
		}
		writeJSON(w, status, ErrorResult{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"result": "restarted", "plugin": name})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
