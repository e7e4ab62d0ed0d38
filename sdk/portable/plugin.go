package portable

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
)

// Plugin is what a portable plugin implements. Embed [Base] and write only
// the methods you need; methods added to Plugin later then keep compiling.
//
// The methods are called one at a time, never concurrently, in both
// runtimes. ctx carries the host's deadline in a process plugin; a wasm
// guest gets a ctx without one (the host stops a guest that overruns its
// deadline by itself). A returned error is the delivery's failure: the host
// counts and logs it, with the error's text, and the plugin stays up. A
// panic is not recovered: the host replaces the wasm instance or the
// process, and initialises the new one again before the next event, so
// keep no state you cannot rebuild in Init.
type Plugin interface {
	// Init is called once per wasm instance or process, before any event,
	// with the plugin's configuration, its settings and its logger. It
	// returns the manifest: the settings the plugin reads (Declarations:
	// the host declares them on its behalf), the event kinds it wants
	// (Subscriptions; none given means every kind), and the settings
	// besides its own whose changes it wants (Settings).
	Init(ctx context.Context, req InitRequest) (pluginapi.Manifest, error)
	// OnDeclared follows the host's declaration of one setting.
	OnDeclared(ctx context.Context, d Delivery, e *event.Declared) error
	// OnUpdateOK follows each successful update attempt.
	OnUpdateOK(ctx context.Context, d Delivery, e *event.UpdateOK) error
	// OnUpdateError follows each failed update attempt; e.Err carries the
	// host's text of the failure.
	OnUpdateError(ctx context.Context, d Delivery, e *event.UpdateError) error
	// OnSettingChanged follows a change of one setting's rules or server
	// default: of the settings the plugin declared, and of those its
	// manifest selects in Settings (names, or pluginapi.AllSettings).
	// e.Initial() marks a start-up change: the first values the host holds
	// for the setting, not a change made on the service.
	OnSettingChanged(ctx context.Context, d Delivery, e *event.SettingChanged) error
	// OnClosing is the last event before the host stops the plugin;
	// e.Reason says why: the host stops (event.ClosingShutdown), or a
	// configuration reload replaces or removes the plugin.
	OnClosing(ctx context.Context, d Delivery, e *event.Closing) error
}

// Delivery is this plugin's numbering of one event: Seq counts its
// deliveries (1, 2, …) and Dropped the events its queue in the host dropped
// since the previous one, so a gap in Seq shows a loss. The event's own
// number and time are in its [event.Header].
//
// Unreadable is set on a setting_changed for a setting the plugin may not
// read: it did not declare it, and the host does not grant it undeclared
// reads, so its lookups fail with [pluginapi.ErrNotDeclared]. Such events
// come only for settings selected in [pluginapi.Manifest.Settings].
type Delivery struct {
	Seq        uint64
	Dropped    uint64
	Unreadable bool
}

// InitRequest is what [Plugin.Init] receives. Plugins commonly keep it whole
// (embedding it in their type puts Settings and Logger at hand).
type InitRequest struct {
	// Config is the plugin's "config" from the host configuration as JSON;
	// nil when none was given (also when the host passed JSON null).
	Config json.RawMessage
	// Settings looks settings up through the host. It stays valid for the
	// life of the instance or process.
	Settings *Settings
	// Logger writes to the host's log under the plugin's name, at the
	// record's level. A process plugin's records keep their attributes; a
	// wasm guest's are appended to the message as key=value text, since the
	// wasm ABI logs text only.
	Logger *slog.Logger

	// declare hands declarations to the host: the runtime's own call, or
	// nil in an InitRequest not made by an adapter.
	declare func(context.Context, []pluginapi.Declaration) error
}

// Declare hands decls to the host at once, while Init runs, so that Init's
// own lookups of them (through Settings) are answered with the service's
// value, the host's snapshot's or the default, as [pluginapi.Value.Origin]
// says; a brand-new plugin's settings are otherwise not found during its
// first Init, since the host learns the manifest only when Init returns.
// The declarations count as the manifest's: Init need not return them
// again (returning them too is fine). In a wasm build it is sdk/wasm's
// Declare; in a process build, sdk/plugin's [plugin.InitRequest.Declare].
//
// # Errors
//
// After Init has returned, Declare fails: a plugin's declarations are
// fixed when it loads. A declaration the host refuses as malformed, and a
// host too old for the call, fail it too.
func (r InitRequest) Declare(ctx context.Context, decls ...pluginapi.Declaration) error {
	if r.declare == nil {
		return errors.New("portable: declare: this InitRequest was not made by the SDK's Init")
	}
	return r.declare(ctx, decls)
}

// Base is a no-op [Plugin] to embed: Init returns an empty manifest (which
// subscribes to every kind) and every handler returns nil.
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

// subscriptions is what a manifest subscribes to: every kind when it names
// none.
func subscriptions(m pluginapi.Manifest) event.Set {
	if m.Subscriptions == 0 {
		return event.All
	}
	return m.Subscriptions
}

// config normalises a plugin's config: nil for none, empty or JSON null.
func config(b []byte) json.RawMessage {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return json.RawMessage(b)
}
