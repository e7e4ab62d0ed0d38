package hekshertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/heksher-go/heksher/internal/server"
)

// Setting describes a setting to declare: Name, Type (a Heksher type
// string), Default (any JSON-like Go value), ConfigurableFeatures,
// Metadata, Version (default "1.0") and Rules to create with it.
type Setting = server.SeedSetting

// Rule describes a rule of a [Setting]: Conditions (feature → value), Value
// and Metadata.
type Rule = server.SeedRule

// RequestError is returned when the server refuses a state change made
// through the methods below; Status and Body are what an HTTP client would
// have received. It matches [ErrRejected].
type RequestError = server.RequestError

// ErrRejected is matched (errors.Is) by every [RequestError].
var ErrRejected = server.ErrRejected

// call runs an API request in-process.
func (s *Server) call(method, path string, body any) ([]byte, error) {
	return s.engine.Call(context.Background(), method, path, body)
}

// Do runs one API request in-process (no HTTP, not recorded) with body
// encoded as JSON (nil for none) and returns the answer body.
func (s *Server) Do(ctx context.Context, method, path string, body any) ([]byte, error) {
	return s.engine.Call(ctx, method, path, body)
}

// AddContextFeature appends a context feature.
func (s *Server) AddContextFeature(name string) error {
	_, err := s.call(http.MethodPost, "/api/v1/context_features", map[string]any{"context_feature": name})
	return err
}

// Declare declares a setting as a client would (creating it at version 1.0
// and upgrading it to set.Version if needed) and creates or updates its
// rules.
func (s *Server) Declare(set Setting) error {
	return s.engine.ApplySeed(context.Background(), &server.Seed{Settings: []server.SeedSetting{set}})
}

// AddRule creates a rule and returns its id.
func (s *Server) AddRule(setting string, conditions map[string]string, value any) (int64, error) {
	return s.AddRuleWithMetadata(setting, conditions, value, nil)
}

// AddRuleWithMetadata creates a rule with metadata and returns its id.
func (s *Server) AddRuleWithMetadata(setting string, conditions map[string]string, value any, metadata map[string]any) (int64, error) {
	fv := map[string]any{}
	for k, v := range conditions {
		fv[k] = v
	}
	body := map[string]any{"setting": setting, "feature_values": fv, "value": value}
	if metadata != nil {
		body["metadata"] = metadata
	}
	raw, err := s.call(http.MethodPost, "/api/v1/rules", body)
	if err != nil {
		return 0, err
	}
	var out struct {
		RuleID int64 `json:"rule_id"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return 0, fmt.Errorf("hekshertest: add rule answer %s: %w", raw, err)
	}
	return out.RuleID, nil
}

// SetRuleValue replaces a rule's value.
func (s *Server) SetRuleValue(id int64, value any) error {
	_, err := s.call(http.MethodPut, fmt.Sprintf("/api/v1/rules/%d/value", id), map[string]any{"value": value})
	return err
}

// DeleteRule deletes a rule.
func (s *Server) DeleteRule(id int64) error {
	_, err := s.call(http.MethodDelete, fmt.Sprintf("/api/v1/rules/%d", id), nil)
	return err
}

// DeleteSetting deletes a setting (by name or alias) and its rules.
func (s *Server) DeleteSetting(name string) error {
	_, err := s.call(http.MethodDelete, "/api/v1/settings/"+name, nil)
	return err
}

// Query returns the body of GET /api/v1/query with the given raw query
// string (e.g. "settings=a,b&context_filters=*"), run in-process.
func (s *Server) Query(rawQuery string) ([]byte, error) {
	path := "/api/v1/query"
	if rawQuery != "" {
		path += "?" + rawQuery
	}
	return s.call(http.MethodGet, path, nil)
}
