package heksher

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/heksher-go/heksher/internal/wire"
)

// SettingData describes one setting as the service stores it (B43).
type SettingData struct {
	Name                 string
	ConfigurableFeatures []string // in the service's context-feature order
	Type                 string   // the service's normalised type string
	DefaultValue         json.RawMessage
	Metadata             map[string]any
	Aliases              []string
	Version              string
}

// GetSettings lists every setting on the service (not only this client's),
// keyed by name. A missing or null default is the JSON null. It works
// without SetAsMain. The request is bounded by ctx and by the client's
// request timeout (see [WithRequestTimeout]), whichever ends first.
//
// # Errors
//
// [*RequestError], [*HTTPError], or a [*DecodeError] when a field other than
// the default is missing.
func (c *Client) GetSettings(ctx context.Context) (map[string]SettingData, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.requestTimeout)
	defer cancel()
	q := url.Values{"include_additional_data": {"true"}}
	a, err := c.do(ctx, http.MethodGet, wire.PathSettings, q, nil, nil)
	if err != nil {
		return nil, err
	}
	if !a.ok() {
		return nil, a.httpError(http.MethodGet)
	}
	list, err := wire.DecodeSettingsList(a.body)
	if err != nil {
		return nil, &DecodeError{URL: a.url, What: "settings list", Err: err}
	}
	out := make(map[string]SettingData, len(list))
	for _, s := range list {
		out[s.Name] = SettingData{
			Name: s.Name, ConfigurableFeatures: s.ConfigurableFeatures, Type: s.Type,
			DefaultValue: s.DefaultValue, Metadata: s.Metadata, Aliases: s.Aliases, Version: s.Version,
		}
	}
	return out, nil
}
