// Package plugin is the Go SDK for Heksher process plugins: programs the
// Heksher host starts, feeds events to, and lets look settings up.
//
// The package is named plugin, like hashicorp/go-plugin's; a plugin rarely
// needs go-plugin itself, but if it does, import that one as goplugin.
//
// A new Go plugin is best written on package
// github.com/heksher-go/heksher/sdk/portable instead: the same handlers,
// lookups (with source, origin, rule and conditions), errors and
// *slog.Logger, built as a process plugin on this package or, with
// GOOS=wasip1, as a wasm guest on sdk/wasm, so the runtime is a build
// choice. Use this package directly for what only a process plugin can do.
//
// # Quick start
//
// Embed [Base], override the handlers you need, and call [Serve] from main:
//
//	type alerter struct {
//		plugin.Base
//		settings *plugin.Settings
//	}
//
//	func (a *alerter) Init(ctx context.Context, req plugin.InitRequest) (pluginapi.Manifest, error) {
//		a.settings = req.Settings
//		return pluginapi.Manifest{Subscriptions: event.SetOf(event.KindUpdateError)}, nil
//	}
//
//	func (a *alerter) OnUpdateError(ctx context.Context, d plugin.Delivery, e *event.UpdateError) error {
//		limit, err := plugin.Get[int](ctx, a.settings, "alert.threshold")
//		…
//	}
//
//	func main() {
//		if err := plugin.Serve(&alerter{}); err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//	}
//
// # Events
//
// Handlers receive the very types of package event (the same shapes a wasm
// plugin or an in-process hook sees) plus a [Delivery] with this plugin's own
// numbering: Seq counts its deliveries and Dropped the events its queue in
// the host dropped since the previous one. Setting values are Heksher wire
// JSON. An error text the host saw (UpdateError.Err, Declared.Err) arrives as
// a plain error with the same text.
//
// [Plugin.OnSettingChanged] comes for the settings the manifest declares and
// those it selects in pluginapi.Manifest.Settings (pluginapi.AllSettings for
// every one); a change the plugin may not read has [Delivery].Unreadable set,
// and event.SettingChanged.Initial marks the first values the host holds
// for a setting at its start, no change made on the service.
// [Plugin.OnClosing] comes when the host stops and when a configuration
// reload replaces or removes the plugin: event.Closing.Reason says which.
//
// # Lookups
//
// [Settings.Lookup] and the typed [Get] resolve a setting through the host
// exactly as in-process code would, with the same errors
// (pluginapi.ErrNotFound, pluginapi.ErrNotDeclared, pluginapi.ErrBadContext,
// matched with errors.Is). A plugin reads only the settings its manifest
// declared. Every lookup crosses two processes over one connection the SDK
// opens at Init and keeps, so cache values and refresh them from
// [Plugin.OnSettingChanged].
//
// # Life cycle
//
// The host starts the binary, performs go-plugin's handshake (protocol
// version 1, the HEKSHER_PLUGIN magic cookie, gRPC, mutual TLS), calls
// [Plugin.Init] once, then delivers the events the manifest subscribed to,
// one at a time, each with a deadline. A plugin that crashes, or overruns its
// deadline repeatedly, is killed and replaced by a fresh process that is
// initialised again before it gets the next event, so keep no state you
// cannot rebuild in Init. When the host exits, or dies, the plugin exits too.
//
// # Logging
//
// Log through [InitRequest.Logger]: its records appear in the host's log
// under the plugin's name with their level and attributes. Plain writes to
// stdout and stderr appear there too, line by line, with a "stream"
// attribute (info level for stdout, warning for stderr). Both count against
// the plugin's output budget in the host (1 MiB/s by default): lines over it
// are dropped, and lines over 16 KiB cut.
//
// # Other languages
//
// The contract is the gRPC service in sdk/proto/pluginv1/plugin.proto plus
// go-plugin's handshake; docs/PROCESS-PLUGINS.md describes both.
package plugin
