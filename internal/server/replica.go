package server

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// A replica is an Engine whose state is a copy of another server's,
// replaced as a whole by [Engine.Replace] and never changed by requests: a
// relay keeps one and serves its downstream clients with the engine's own
// handler, so that their answers (status, body, ETag) are those of this
// package by construction. [Engine.ReadOnlyHandler] keeps writes away from
// it.

// ReplicaState is the whole state of an upstream server, as a replica
// takes it: the context features in hierarchy order and every setting with
// its rules. JSON values are kept as the upstream sent them; metadata
// objects keep their key order.
type ReplicaState struct {
	// ContextFeatures are the upstream's context features, in order.
	ContextFeatures []string
	// Settings are the upstream's settings, in any order.
	Settings []ReplicaSetting
}

// ReplicaSetting is one setting of a [ReplicaState].
type ReplicaSetting struct {
	Name    string
	Aliases []string
	// Type is a Heksher type string; it is stored normalised.
	Type                 string
	DefaultValue         json.RawMessage
	Metadata             json.RawMessage // an object; nil for none
	ConfigurableFeatures []string
	Version              string
	Rules                []ReplicaRule
}

// ReplicaRule is one rule of a [ReplicaSetting], with the upstream's id.
type ReplicaRule struct {
	ID         int64
	Conditions [][2]string // (feature, value) pairs
	Value      json.RawMessage
	Metadata   json.RawMessage // an object; nil for none
}

// Replace makes rs the engine's whole state at once: it is checked and
// built aside first, so a state that does not hold together (an unknown
// feature, a value that does not match its type, a name used twice, …)
// leaves the current state as it is and returns an error matching
// [ErrBadData]. Queries answered from then on, and waiting watches, see
// the new state; a request being answered sees the old one or the new
// one, never a mix.
func (e *Engine) Replace(rs *ReplicaState) error {
	snap := &snapshot{Format: dataFormat, ContextFeatures: rs.ContextFeatures, Settings: make([]snapSetting, len(rs.Settings))}
	for i, s := range rs.Settings {
		ss := snapSetting{Name: s.Name, Aliases: s.Aliases, Type: s.Type, DefaultValue: s.DefaultValue,
			Metadata: s.Metadata, ConfigurableFeatures: s.ConfigurableFeatures, Version: s.Version,
			Rules: make([]snapRule, len(s.Rules))}
		for j, r := range s.Rules {
			ss.Rules[j] = snapRule(r)
		}
		snap.Settings[i] = ss
	}
	st, err := snap.toState()
	if err != nil {
		return fmt.Errorf("server: replica state: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.st = st
	e.changedLocked()
	return nil
}

// Knows reports whether name is the canonical name or an alias of a
// setting.
func (e *Engine) Knows(name string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.st.resolve(name) != nil
}

// IsWrite reports whether a request with this method and path reaches an
// endpoint that can change the state. Every other request (reads, and the
// 404, 405 and 307 answers of unknown paths and methods) changes nothing.
func IsWrite(method, path string) bool {
	if method == http.MethodGet || method == http.MethodHead {
		return false
	}
	for i := range routes {
		if _, ok := routes[i].match(path); ok {
			if _, ok := routes[i].methods[method]; ok {
				return true
			}
		}
	}
	return false
}

// ReadOnlyHandler returns the engine's handler with writes taken away:
// a request that [IsWrite] reports goes to write instead, every other
// request to the engine. A replica is served this way, so that nothing but
// [Engine.Replace] changes it.
func (e *Engine) ReadOnlyHandler(write http.Handler) http.Handler {
	h := e.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsWrite(r.Method, r.URL.Path) {
			write.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// IsDeclare reports whether a request with this method and path is a
// declaration (POST /api/v1/settings/declare).
func IsDeclare(method, path string) bool {
	return method == http.MethodPost && path == "/api/v1/settings/declare"
}
