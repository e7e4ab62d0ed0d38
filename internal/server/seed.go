package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/heksher-go/heksher/internal/htype"
	"github.com/heksher-go/heksher/internal/yamlstrict"
)

// Seed is initial content for an [Engine]: context features, settings and
// their rules. It is what a seed YAML file holds (see docs/DEVSERVER.md):
//
//	context_features: [user, trust, theme]
//	settings:
//	  - name: size_limit
//	    type: int
//	    default: 200
//	    configurable_features: [user, theme]
//	    metadata: {description: max upload size}
//	    rules:
//	      - conditions: {theme: bright}
//	        value: 10
type Seed struct {
	ContextFeatures []string      `yaml:"context_features"`
	Settings        []SeedSetting `yaml:"settings"`
}

// SeedSetting is one setting of a [Seed]. Version defaults to "1.0".
// Default and metadata values may be any JSON-like Go value (nil, bool,
// numbers, strings, []any, map[string]any).
type SeedSetting struct {
	Name                 string         `yaml:"name"`
	Type                 string         `yaml:"type"`
	Default              any            `yaml:"default"`
	ConfigurableFeatures []string       `yaml:"configurable_features"`
	Metadata             map[string]any `yaml:"metadata"`
	Version              string         `yaml:"version"`
	Rules                []SeedRule     `yaml:"rules"`
}

// SeedRule is one rule of a [SeedSetting].
type SeedRule struct {
	Conditions map[string]string `yaml:"conditions"`
	Value      any               `yaml:"value"`
	Metadata   map[string]any    `yaml:"metadata"`
}

// LoadSeedFile reads a seed YAML file with the host configuration's strict
// decoder (internal/yamlstrict): an unknown or repeated key, a value of the
// wrong kind or a second document is an error, so a typo does not silently
// drop content.
//
// # Errors
//
// The file cannot be read, or is not valid seed YAML: [ErrBadData] wrapping
// a [*yamlstrict.Error] that gives the file, line, column and field path
// ("seed.yaml:4:5: settings[0].typo: unknown field …").
func LoadSeedFile(path string) (*Seed, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("server: read seed: %w", err)
	}
	return parseSeed(path, raw)
}

// ParseSeed decodes seed YAML (see [LoadSeedFile]); errors name the
// document "seed".
func ParseSeed(raw []byte) (*Seed, error) {
	return parseSeed("seed", raw)
}

func parseSeed(file string, raw []byte) (*Seed, error) {
	var s Seed
	if _, err := yamlstrict.Decode(file, raw, &s, yamlstrict.Options{}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadData, err)
	}
	return &s, nil
}

// ApplySeed adds the seed's content through the same code paths as the
// HTTP API, so it is checked exactly like API requests. It is idempotent:
// missing context features are appended; each setting is declared (a new
// setting is created at 1.0 and then upgraded to its seed version); each
// rule is created, or its value and metadata are replaced when a rule with
// the same conditions exists.
//
// # Errors
//
// The first request the engine refuses, as a [*RequestError] wrapped with
// the setting (and rule) it concerns; content before it stays applied.
func (e *Engine) ApplySeed(ctx context.Context, seed *Seed) error {
	if seed == nil {
		return nil
	}
	for _, f := range seed.ContextFeatures {
		e.mu.RLock()
		exists := e.st.featureIndex(f) >= 0
		e.mu.RUnlock()
		if exists {
			continue
		}
		if _, err := e.call(ctx, http.MethodPost, "/api/v1/context_features", map[string]any{"context_feature": f}); err != nil {
			return fmt.Errorf("server: seed context feature %q: %w", f, err)
		}
	}
	for i, s := range seed.Settings {
		if err := e.seedSetting(ctx, s); err != nil {
			return fmt.Errorf("server: seed settings[%d] (%s): %w", i, s.Name, err)
		}
	}
	return nil
}

func (e *Engine) seedSetting(ctx context.Context, s SeedSetting) error {
	version := s.Version
	if version == "" {
		version = "1.0"
	}
	meta := s.Metadata
	if meta == nil {
		meta = map[string]any{}
	}
	decl := map[string]any{
		"name": s.Name, "type": s.Type, "default_value": s.Default,
		"configurable_features": s.ConfigurableFeatures, "metadata": meta, "version": "1.0",
	}
	e.mu.RLock()
	existing := e.st.resolve(s.Name)
	e.mu.RUnlock()
	if existing != nil || version == "1.0" {
		decl["version"] = version
		if _, err := e.call(ctx, http.MethodPost, "/api/v1/settings/declare", decl); err != nil {
			return err
		}
	} else {
		if _, err := e.call(ctx, http.MethodPost, "/api/v1/settings/declare", decl); err != nil {
			return err
		}
		decl["version"] = version
		if _, err := e.call(ctx, http.MethodPost, "/api/v1/settings/declare", decl); err != nil {
			return err
		}
	}
	for j, r := range s.Rules {
		if err := e.seedRule(ctx, s.Name, r); err != nil {
			return fmt.Errorf("rules[%d]: %w", j, err)
		}
	}
	return nil
}

func (e *Engine) seedRule(ctx context.Context, setting string, r SeedRule) error {
	meta := r.Metadata
	if meta == nil {
		meta = map[string]any{}
	}
	conds := map[string]any{}
	for k, v := range r.Conditions {
		conds[k] = v
	}
	e.mu.RLock()
	var existing *rule
	if s := e.st.resolve(setting); s != nil {
		existing = s.findRule(r.Conditions)
	}
	var id int64
	if existing != nil {
		id = existing.id
	}
	e.mu.RUnlock()
	if existing == nil {
		_, err := e.call(ctx, http.MethodPost, "/api/v1/rules", map[string]any{
			"setting": setting, "feature_values": conds, "value": r.Value, "metadata": meta,
		})
		return err
	}
	base := fmt.Sprintf("/api/v1/rules/%d", id)
	if _, err := e.call(ctx, http.MethodPut, base+"/value", map[string]any{"value": r.Value}); err != nil {
		return err
	}
	_, err := e.call(ctx, http.MethodPut, base+"/metadata", map[string]any{"metadata": meta})
	return err
}

// call runs one API request through [Engine.Do] with body encoded as
// JSON, turning any non-2xx answer into a *RequestError.
func (e *Engine) call(ctx context.Context, method, path string, body any) ([]byte, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = htype.AppendJSON(nil, body); err != nil {
			return nil, err
		}
	}
	status, resp, err := e.Do(ctx, method, path, raw)
	if err != nil {
		return nil, err
	}
	if status < 200 || status > 299 {
		u, _ := url.Parse(path)
		return nil, &RequestError{Method: method, Path: u.Path, Status: status, Body: string(resp)}
	}
	return resp, nil
}

// Call runs one API request with a Go value as its JSON body (nil for
// none) and returns the answer body; a non-2xx answer is a [*RequestError]
// (matching [ErrRejected]). It is the Go-side entry point used by
// hekshertest and seeding.
func (e *Engine) Call(ctx context.Context, method, path string, body any) ([]byte, error) {
	return e.call(ctx, method, path, body)
}
