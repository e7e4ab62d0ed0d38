package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
)

// Plugin is what a process plugin implements. Embed [Base] and write only
// the methods you need; methods added to Plugin later then keep compiling.
//
// The SDK calls the methods one at a time, never concurrently, each on a
// gRPC server goroutine with the host's deadline in ctx. A handler that runs
// past its deadline keeps the next call waiting (the host counts the timeout
// and, after a few, kills and restarts the process), so handlers must honour
// ctx. A returned error is reported to the host as the delivery's failure;
// the process stays up. A panic is not recovered: it ends the process, and
// the host starts a fresh one and initialises it again before the next event.
type Plugin interface {
	// Init is called once per process, before any event, with the plugin's
	// configuration and its settings client. It returns what the plugin
	// subscribes to and the settings it reads; the host declares those
	// settings on its behalf.
	Init(ctx context.Context, req InitRequest) (pluginapi.Manifest, error)
	// OnDeclared follows the host's declaration of one setting.
	OnDeclared(ctx context.Context, d Delivery, e *event.Declared) error
	// OnUpdateOK follows each successful update attempt.
	OnUpdateOK(ctx context.Context, d Delivery, e *event.UpdateOK) error
	// OnUpdateError follows each failed update attempt.
	OnUpdateError(ctx context.Context, d Delivery, e *event.UpdateError) error
	// OnSettingChanged follows a change of one setting's rules or server
	// default: by default of a setting the plugin declared, and of those
	// selected in [pluginapi.Manifest.Settings]. e.Initial() marks the
	// first values the host holds for the setting (at start-up), which
	// are no change made on the service.
	OnSettingChanged(ctx context.Context, d Delivery, e *event.SettingChanged) error
	// OnClosing is the last event before the host stops the plugin:
	// e.Reason says whether the host stops (event.ClosingShutdown) or a
	// configuration reload replaces or removes the plugin. It is bounded
	// by the plugin's deadline, after which the host stops the process
	// whatever the handler does.
	OnClosing(ctx context.Context, d Delivery, e *event.Closing) error
}

// Delivery is the per-plugin numbering of one event, as in
// [event.Delivery]: Seq counts this plugin's deliveries and Dropped counts
// events dropped from its full queue since the previous one.
//
// Unreadable is set on a setting_changed for a setting the plugin may not
// read: it did not declare it, and the host does not grant it undeclared
// reads, so its lookups fail with pluginapi.ErrNotDeclared. (Such events
// come only for settings selected in [pluginapi.Manifest.Settings].)
type Delivery struct {
	Seq        uint64
	Dropped    uint64
	Unreadable bool
}

// InitRequest is what [Plugin.Init] receives.
type InitRequest struct {
	// Name is the plugin's name in the host's configuration.
	Name string
	// Config is the plugin's configuration from the host config as JSON;
	// nil when none was given.
	Config json.RawMessage
	// Settings looks settings up through the host. It stays valid for the
	// life of the process.
	Settings *Settings
	// Logger writes to the host's log under the plugin's name.
	Logger *slog.Logger

	// declarer receives Declare's declarations; nil in an InitRequest not
	// made by the SDK.
	declarer *initDeclarer
}

// Declare hands decls to the host at once, while Init runs, so that Init's
// own lookups of them (through Settings) are answered with the service's
// value, the host's snapshot's or the default, as [pluginapi.Value.Origin]
// says; without it a plugin's very first Init finds its settings not found,
// since the host learns the manifest only when Init returns. The
// declarations count as the manifest's: Init need not return them again
// (returning them too is fine). Without a deadline in ctx the call is
// bounded by [DefaultLookupTimeout].
//
// # Errors
//
// After Init has returned, Declare fails: a plugin's declarations are
// fixed when it loads. A malformed declaration (no name or type, a default
// that is not JSON) is refused. A host built before the call existed
// refuses it too (the declarations still join the manifest, but Init's
// lookups do not find them). Transport errors are returned wrapped.
func (r InitRequest) Declare(ctx context.Context, decls ...pluginapi.Declaration) error {
	if r.declarer == nil {
		return errors.New("plugin: declare: this InitRequest was not made by the SDK's Init")
	}
	return r.declarer.declare(ctx, decls)
}

// Base is a no-op [Plugin] to embed: Init returns an empty manifest and
// every handler returns nil.
type Base struct{}

var _ Plugin = Base{}

// Init returns an empty manifest.
func (Base) Init(context.Context, InitRequest) (pluginapi.Manifest, error) {
	return pluginapi.Manifest{}, nil
}

// OnDeclared does nothing.
func (Base) OnDeclared(context.Context, Delivery, *event.Declared) error { return nil }

// OnUpdateOK does nothing.
func (Base) OnUpdateOK(context.Context, Delivery, *event.UpdateOK) error { return nil }

// OnUpdateError does nothing.
func (Base) OnUpdateError(context.Context, Delivery, *event.UpdateError) error { return nil }

// OnSettingChanged does nothing.
func (Base) OnSettingChanged(context.Context, Delivery, *event.SettingChanged) error { return nil }

// OnClosing does nothing.
func (Base) OnClosing(context.Context, Delivery, *event.Closing) error { return nil }
