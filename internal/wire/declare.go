package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// DeclareRequest is the body of POST /api/v1/settings/declare. Its field
// order is the key order the reference client sends.
type DeclareRequest struct {
	Name                 string          `json:"name"`
	ConfigurableFeatures []string        `json:"configurable_features"`
	Type                 string          `json:"type"`
	Metadata             map[string]any  `json:"metadata"`
	Alias                *string         `json:"alias"`
	DefaultValue         json.RawMessage `json:"default_value"`
	Version              string          `json:"version"`
}

// Marshal encodes r compactly without HTML escaping, with `{}` for nil
// metadata and `[]` for nil features (never null).
func (r DeclareRequest) Marshal() ([]byte, error) {
	if r.Metadata == nil {
		r.Metadata = map[string]any{}
	}
	if r.ConfigurableFeatures == nil {
		r.ConfigurableFeatures = []string{}
	}
	return Marshal(r)
}

// Marshal encodes v as compact JSON without HTML escaping and without the
// trailing newline of json.Encoder.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Declaration outcomes the server answers with.
const (
	OutcomeCreated   = "created"
	OutcomeUpToDate  = "uptodate"
	OutcomeUpgraded  = "upgraded"
	OutcomeOutdated  = "outdated"
	OutcomeMismatch  = "mismatch"
	OutcomeRejected  = "rejected"
	OutcomeOutOfDate = "outofdate" // legacy spelling, treated like the others
)

// DeclareResponse is the body of a declaration answer. Fields absent from the
// body stay zero; HasLatestVersion tells an absent latest_version from "".
type DeclareResponse struct {
	Outcome          string
	HasOutcome       bool
	LatestVersion    string
	HasLatestVersion bool
	PreviousVersion  string
	// Differences is the raw "differences" value (nil when absent).
	Differences json.RawMessage
}

// Difference is one entry of a declaration answer's "differences".
type Difference struct {
	Level       string          `json:"level"`
	Attribute   string          `json:"attribute,omitempty"`
	Message     string          `json:"message,omitempty"`
	LatestValue json.RawMessage `json:"latest_value,omitempty"`
}

// ErrNotJSON marks a body that is not JSON at all.
var ErrNotJSON = fmt.Errorf("wire: body is not JSON")

// DecodeDeclare reads a declaration answer. A body that is not JSON gives an
// error wrapping [ErrNotJSON]; JSON that is not an object, or whose known
// fields have the wrong type, gives another error.
func DecodeDeclare(body []byte) (DeclareResponse, error) {
	var r DeclareResponse
	if !json.Valid(body) {
		return r, ErrNotJSON
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return r, fmt.Errorf("wire: declaration answer is not an object: %w", err)
	}
	if raw, ok := obj["outcome"]; ok {
		if err := json.Unmarshal(raw, &r.Outcome); err != nil {
			return r, fmt.Errorf("wire: declaration answer: outcome: %w", err)
		}
		r.HasOutcome = true
	}
	if raw, ok := obj["latest_version"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &r.LatestVersion); err != nil {
			return r, fmt.Errorf("wire: declaration answer: latest_version: %w", err)
		}
		r.HasLatestVersion = true
	}
	if raw, ok := obj["previous_version"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &r.PreviousVersion); err != nil {
			return r, fmt.Errorf("wire: declaration answer: previous_version: %w", err)
		}
	}
	if raw, ok := obj["differences"]; ok && string(raw) != "null" {
		r.Differences = raw
	}
	return r, nil
}

// ParseDifferences decodes a "differences" value; nil or null gives none.
func ParseDifferences(raw json.RawMessage) ([]Difference, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var out []Difference
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("wire: differences: %w", err)
	}
	return out, nil
}
