package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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

// initDeclarer sends the declarations [InitRequest.Declare] makes while
// Init runs, and keeps them for Init's manifest.
type initDeclarer struct {
	client pluginv1.SettingsClient

	mu       sync.Mutex
	done     bool
	declared []pluginapi.Declaration
}

func (d *initDeclarer) declare(ctx context.Context, decls []pluginapi.Declaration) error {
	d.mu.Lock()
	if d.done {
		d.mu.Unlock()
		return errors.New("plugin: declare: only while Init runs: the plugin's declarations are fixed when it loads")
	}
	d.mu.Unlock()
	ws, err := pluginv1.FromDeclarations(decls)
	if err != nil {
		return fmt.Errorf("plugin: declare: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultLookupTimeout)
		defer cancel()
	}
	_, err = d.client.Declare(ctx, &pluginv1.DeclareRequest{Declarations: ws})
	if st, ok := status.FromError(err); ok && st.Code() == codes.InvalidArgument {
		return fmt.Errorf("plugin: declare: the host refuses it: %s", st.Message())
	}
	d.mu.Lock()
	if !d.done {
		d.declared = append(d.declared, decls...)
	}
	d.mu.Unlock()
	if err != nil {
		if st, ok := status.FromError(err); ok && st.Code() == codes.Unimplemented {
			return fmt.Errorf("plugin: declare: the host is older than the call (the declarations join the manifest, but Init's lookups do not find them): %w", err)
		}
		return fmt.Errorf("plugin: declare: %w", err)
	}
	return nil
}

// end refuses declarations from now on and returns m with those made while
// Init ran that m does not name already.
func (d *initDeclarer) end(m pluginapi.Manifest) pluginapi.Manifest {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.done = true
	if len(d.declared) == 0 {
		return m
	}
	names := make(map[string]bool, len(m.Declarations))
	for _, x := range m.Declarations {
		names[x.Name] = true
	}
	m.Declarations = append([]pluginapi.Declaration(nil), m.Declarations...)
	for _, x := range d.declared {
		if !names[x.Name] {
			names[x.Name] = true
			m.Declarations = append(m.Declarations, x)
		}
	}
	return m
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
