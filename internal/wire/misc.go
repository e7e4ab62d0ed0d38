package wire

import (
	"encoding/json"
	"fmt"
)

// ContextFeatures is the body of GET /api/v1/context_features.
type ContextFeatures struct {
	ContextFeatures []string `json:"context_features"`
}

// DecodeContextFeatures reads a context-features answer; a missing list is an
// error.
func DecodeContextFeatures(body []byte) ([]string, error) {
	var r struct {
		ContextFeatures *[]string `json:"context_features"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("wire: context features answer: %w", err)
	}
	if r.ContextFeatures == nil {
		return nil, fmt.Errorf(`wire: context features answer: no "context_features" list`)
	}
	return *r.ContextFeatures, nil
}

// SettingData is one item of GET /api/v1/settings?include_additional_data=true.
type SettingData struct {
	Name                 string          `json:"name"`
	Type                 string          `json:"type"`
	DefaultValue         json.RawMessage `json:"default_value"`
	Version              string          `json:"version"`
	ConfigurableFeatures []string        `json:"configurable_features"`
	Metadata             map[string]any  `json:"metadata"`
	Aliases              []string        `json:"aliases"`
}

// SettingsList is the body of GET /api/v1/settings.
type SettingsList struct {
	Settings []SettingData `json:"settings"`
}

// DecodeSettingsList reads a settings listing with additional data. Every
// field but default_value is required (a missing or null default is the JSON
// null); unknown fields are ignored.
func DecodeSettingsList(body []byte) ([]SettingData, error) {
	var r struct {
		Settings *[]map[string]json.RawMessage `json:"settings"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("wire: settings list: %w", err)
	}
	if r.Settings == nil {
		return nil, fmt.Errorf(`wire: settings list: no "settings" list`)
	}
	out := make([]SettingData, 0, len(*r.Settings))
	for i, item := range *r.Settings {
		var d SettingData
		fields := []struct {
			key string
			dst any
		}{
			{"name", &d.Name}, {"type", &d.Type}, {"version", &d.Version},
			{"configurable_features", &d.ConfigurableFeatures}, {"metadata", &d.Metadata}, {"aliases", &d.Aliases},
		}
		for _, f := range fields {
			raw, ok := item[f.key]
			if !ok || string(raw) == "null" {
				return nil, fmt.Errorf("wire: settings[%d]: no %s", i, f.key)
			}
			if err := json.Unmarshal(raw, f.dst); err != nil {
				return nil, fmt.Errorf("wire: settings[%d].%s: %w", i, f.key, err)
			}
		}
		d.DefaultValue = item["default_value"]
		if d.DefaultValue == nil {
			d.DefaultValue = json.RawMessage("null")
		}
		out = append(out, d)
	}
	return out, nil
}
