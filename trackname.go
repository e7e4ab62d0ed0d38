package heksher

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/heksher-go/heksher/internal/wire"
)

// ErrUnknownSetting is matched (errors.Is) by the error of [Client.Track]
// and [Client.TrackAllSettings] when the service has no setting of the
// name.
var ErrUnknownSetting = errors.New("heksher: the service has no such setting")

// Track keeps the setting called name up to date without declaring it: the
// client asks the service for its rules with every update, and it resolves
// like any setting, but no declaration is sent, so nothing on the service
// changes. It is the way to read a setting that another service owns.
//
// Track asks the service for the setting (GET /api/v1/settings/{name}) once:
// its configurable features, its default (which becomes the local default)
// and, when typeString is "", its type. A non-empty typeString is the type
// the values are converted to instead (see [ParseType]); the service's
// default must then be a value of it. The setting is a
// Setting[json.RawMessage]; it is among [Client.Settings] and
// [Client.Tracked], and an update is requested at once when the client is
// running (otherwise its rules arrive with the first update).
//
// A setting the client already keeps under name (declared, or tracked
// before) is returned as it is, without a request. A setting declared later
// under the same name replaces the tracked one. Name may be an alias: the
// service's answers for the canonical name reach the setting.
//
// As for a declared setting, the service refuses every query that names a
// setting it no longer has (404): if the owner deletes the setting, the
// client's updates fail (its values are held, stale) until the setting
// exists again.
//
// No [event.Declared] is published (nothing was declared). The request is
// bounded by ctx and by the client's request timeout.
//
// # Errors
//
// An error matching [ErrUnknownSetting] (and wrapping the [*HTTPError])
// when the service does not know the name; [*RequestError], [*HTTPError]
// or [*DecodeError] when it cannot be asked; [ErrInvalidSetting] for an
// invalid typeString or a service default that is not a value of the type;
// [ErrClosed] after Close.
func (c *Client) Track(ctx context.Context, name, typeString string) (AnySetting, error) {
	if s, err := c.trackedOrClosed(name); s != nil || err != nil {
		return s, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.requestTimeout)
	defer cancel()
	a, err := c.do(ctx, http.MethodGet, wire.PathSettings+"/"+url.PathEscape(name), nil, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("heksher: track setting %q: %w", name, err)
	}
	if a.status == http.StatusNotFound {
		return nil, fmt.Errorf("%w: %q: %w", ErrUnknownSetting, name, a.httpError(http.MethodGet))
	}
	if !a.ok() {
		return nil, fmt.Errorf("heksher: track setting %q: %w", name, a.httpError(http.MethodGet))
	}
	// The answer is one item of the settings listing: decode it as such,
	// with the same checks.
	list, err := wire.DecodeSettingsList(slices.Concat([]byte(`{"settings":[`), a.body, []byte(`]}`)))
	if err != nil || len(list) != 1 {
		if err == nil {
			err = errors.New("not one setting")
		}
		return nil, fmt.Errorf("heksher: track setting %q: %w", name, &DecodeError{URL: a.url, What: "setting", Err: err})
	}
	return c.trackData(name, typeString, list[0])
}

// TrackAllSettings tracks (see [Client.Track]) every setting the service
// lists (GET /api/v1/settings) that the client does not keep yet, with the
// service's types, and returns the settings the client keeps afterwards,
// sorted by name. One request serves them all.
//
// # Errors
//
// Those of [Client.GetSettings], [ErrClosed] after Close, and, joined, those
// of the settings that could not be tracked (for example a type the client
// cannot parse); the others are tracked all the same.
func (c *Client) TrackAllSettings(ctx context.Context) ([]AnySetting, error) {
	if c.closedFlag.Load() {
		return nil, ErrClosed
	}
	all, err := c.GetSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("heksher: track all settings: %w", err)
	}
	var errs []error
	for _, name := range sortedKeys(all) {
		if s, err := c.trackedOrClosed(name); s != nil || err != nil {
			if err != nil {
				return nil, err
			}
			continue
		}
		d := all[name]
		wd := wire.SettingData{Name: d.Name, Type: d.Type, DefaultValue: d.DefaultValue,
			ConfigurableFeatures: d.ConfigurableFeatures, Version: d.Version, Metadata: d.Metadata, Aliases: d.Aliases}
		if _, err := c.trackData(name, "", wd); err != nil {
			errs = append(errs, err)
		}
	}
	return c.Settings(), errors.Join(errs...)
}

// trackedOrClosed returns the setting c keeps under name, or ErrClosed.
func (c *Client) trackedOrClosed(name string) (AnySetting, error) {
	if c.closedFlag.Load() {
		return nil, ErrClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, gone := c.missing[name]; gone {
		return nil, nil // ask the service: if it has the name again, it rejoins the query
	}
	if s, ok := c.tracked[name]; ok {
		return s.asAny(), nil
	}
	return nil, nil
}

// trackData builds the read-only setting name from the service's data and
// adds it to the tracked settings.
func (c *Client) trackData(name, typeString string, d wire.SettingData) (AnySetting, error) {
	if typeString == "" {
		typeString = d.Type
	}
	typ, err := ParseType(typeString)
	if err != nil {
		return nil, fmt.Errorf("heksher: track setting %q: %w", name, err)
	}
	def, coercions, err := typ.FromWire(d.DefaultValue)
	if err != nil || len(coercions) > 0 {
		if err == nil {
			err = fmt.Errorf("coerced: %v", coercions)
		}
		return nil, invalid("track setting %q: the service's default %s is not a value of %s: %v", name, d.DefaultValue, typeString, err)
	}
	version := d.Version
	if !versionPattern.MatchString(version) {
		version = "1.0"
	}
	s, err := newSetting(name, typ, d.ConfigurableFeatures, def, settingConfig{version: version, metadata: d.Metadata})
	if err != nil {
		return nil, fmt.Errorf("heksher: track setting %q: %w", name, err)
	}
	s.owner = c
	c.mu.Lock()
	if prev, ok := c.tracked[name]; ok {
		// Declared or tracked meanwhile: that one stays. Missing on the
		// service before, the service has it again: it rejoins the query.
		_, wasMissing := c.missing[name]
		c.rejoinLocked(name)
		running := c.started
		c.mu.Unlock()
		if wasMissing && running {
			c.requestUpdate()
		}
		return prev.asAny(), nil
	}
	c.tracked[name] = s
	if d.Name != "" && d.Name != name {
		// Tracked by an alias: the service answers under the canonical
		// name.
		if _, ok := c.canonical[d.Name]; !ok {
			c.canonical[d.Name] = name
		}
	}
	// The query changes: ask for the whole answer.
	c.etag = ""
	running := c.started
	c.mu.Unlock()
	if running {
		c.requestUpdate()
	}
	return s, nil
}
