package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

// DefaultLookupTimeout bounds a lookup whose ctx has no deadline.
const DefaultLookupTimeout = 5 * time.Second

// Settings looks settings up through the host, over the one connection the
// SDK opened to the host when the plugin was initialised. It is safe for
// concurrent use.
//
// A lookup crosses two processes (about 0.4 ms on a small VM), so cache
// values and refresh them from [Plugin.OnSettingChanged] rather than looking
// up on every use.
type Settings struct {
	client pluginv1.SettingsClient
}

// NewSettings returns a settings client over client. Plugins get theirs in
// [InitRequest]; this constructor is for tests that serve the Settings
// service themselves.
func NewSettings(client pluginv1.SettingsClient) *Settings {
	return &Settings{client: client}
}

// Lookup resolves setting for the given feature values, as the host does for
// in-process plugins; features not given take the host's context defaults.
// Without a deadline in ctx the lookup is bounded by [DefaultLookupTimeout].
//
// # Errors
//
// Errors match [pluginapi.ErrNotFound], [pluginapi.ErrNotDeclared] (the plugin's
// manifest did not declare the setting) and [pluginapi.ErrBadContext] with
// errors.Is; transport errors (the host is gone, the deadline passed) are
// returned wrapped.
func (s *Settings) Lookup(ctx context.Context, setting string, features ...pluginapi.Feature) (pluginapi.Value, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultLookupTimeout)
		defer cancel()
	}
	resp, err := s.client.Lookup(ctx, &pluginv1.LookupRequest{Setting: setting, Features: pluginv1.FromFeatures(features)})
	if err != nil {
		return pluginapi.Value{}, fmt.Errorf("plugin: lookup %q: %w", setting, pluginv1.LookupError(err))
	}
	return resp.ToValue(), nil
}

// Get looks setting up and decodes its JSON value into a T.
//
// # Errors
//
// Those of [Settings.Lookup], and a value that does not decode into T.
func Get[T any](ctx context.Context, s *Settings, setting string, features ...pluginapi.Feature) (T, error) {
	var out T
	v, err := s.Lookup(ctx, setting, features...)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(v.JSON, &out); err != nil {
		return out, fmt.Errorf("plugin: setting %q: value %s does not decode into %T: %w", setting, v.JSON, out, err)
	}
	return out, nil
}
