package portable

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/heksher-go/heksher/pluginapi"
)

// Settings looks settings up through the host: over the wasm ABI's
// get_setting in a wasm guest, over the connection to the host's Settings
// service in a process plugin. Plugins get theirs in [InitRequest].
//
// A process plugin's Settings is safe for concurrent use; a wasm guest has
// one thread, and its Settings must be used from the handler's goroutine.
type Settings struct {
	backend // the runtime's: settings_wasip1.go or settings_other.go
}

// Lookup resolves setting for the given feature values, as the host does
// for every plugin; features not given take the host's context defaults.
// The value's JSON is the plugin's to keep. A lookup whose ctx is done
// fails with ctx's error without asking the host.
//
// The answer carries its [pluginapi.Source] and, for a rule, the rule's id,
// in both runtimes. A wasm guest's answer also says its Origin (service,
// snapshot or defaults) but not the rule's conditions; a process plugin's
// has the conditions and no Origin (OriginUnknown), as the gRPC contract
// carries them.
//
// # Errors
//
// Errors match [pluginapi.ErrNotFound], [pluginapi.ErrNotDeclared] (the
// manifest did not declare the setting) and [pluginapi.ErrBadContext] with
// errors.Is in both runtimes, and carry the runtime's text. Other failures
// (the host is gone, a deadline) are returned wrapped.
func (s *Settings) Lookup(ctx context.Context, setting string, features ...pluginapi.Feature) (pluginapi.Value, error) {
	if err := ctx.Err(); err != nil {
		return pluginapi.Value{}, fmt.Errorf("portable: lookup %q: %w", setting, err)
	}
	return s.lookup(ctx, setting, features)
}

// Get looks setting up and decodes its JSON value into a T (int for an
// "int" setting, string for "str" and Enum, []string for Flags, and so on).
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
		return out, fmt.Errorf("portable: setting %q: value %s does not decode into %T: %w", setting, v.JSON, out, err)
	}
	return out, nil
}
