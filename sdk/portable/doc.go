// Package portable is one Go shape for Heksher plugins of both kinds: a
// plugin written once builds as a wasm guest or as a process plugin, and
// the transport is a build choice. Built with GOOS=wasip1 (as a reactor,
// -buildmode=c-shared) it runs on sdk/wasm over the wasm ABI; built for any
// other GOOS it runs on sdk/plugin over gRPC. The handlers, the event types,
// the lookups, the errors and the logger are the same either way.
//
// # Quick start
//
// Embed [Base], override the handlers you need, register the plugin from
// init and call [Main] from main:
//
//	type alerter struct {
//		portable.Base
//		portable.InitRequest // Config, Settings, Logger
//	}
//
//	func (a *alerter) Init(_ context.Context, req portable.InitRequest) (pluginapi.Manifest, error) {
//		a.InitRequest = req
//		return pluginapi.Manifest{
//			Subscriptions: event.SetOf(event.KindUpdateError),
//			Declarations: []pluginapi.Declaration{{Name: "alert_after", Type: "int",
//				ConfigurableFeatures: []string{"env"}, Default: []byte("3")}},
//		}, nil
//	}
//
//	func (a *alerter) OnUpdateError(ctx context.Context, _ portable.Delivery, e *event.UpdateError) error {
//		after, err := portable.Get[int](ctx, a.Settings, "alert_after", pluginapi.Feature{Name: "env", Value: "prod"})
//		if err != nil {
//			return err
//		}
//		if e.ConsecutiveFailures >= after {
//			a.Logger.Warn(fmt.Sprintf("ALERT: %d updates failed in a row: %v", e.ConsecutiveFailures, e.Err))
//		}
//		return nil
//	}
//
//	func init() { portable.Register(&alerter{}) } // a wasm guest starts here
//	func main() { portable.Main() }               // a process plugin starts here
//
// Build it either way:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//	go build -o bin/alerter .
//
// Both lines in main are needed: the host calls into a wasm module without
// running main, so [Register] runs from init; a process plugin serves in
// [Main].
//
// # Events
//
// Handlers get the event package's types, the very ones a process plugin
// and an in-process hook see, and a [Delivery] with this plugin's own
// numbering. In a wasm guest the event is copied out of the host's buffer
// first, so handlers may keep what they are given (sdk/wasm's views, which
// copy nothing, are the faster path for a guest that needs it). An error
// text the host saw (UpdateError.Err, Declared.Err) arrives as a plain
// error with the same text.
//
// A [pluginapi.Manifest] with no Subscriptions subscribes to every kind; its
// Settings selects the settings, besides the declared ones, whose changes
// the plugin receives ([pluginapi.AllSettings] for all).
// SettingChanged.Initial marks a setting's first values at start-up,
// Closing.Reason says why the plugin stops, and [Delivery].Unreadable marks
// a change of a setting the plugin may not read.
//
// # Lookups
//
// [Settings.Lookup] and the typed [Get] resolve a setting through the host,
// with the errors of package pluginapi ([pluginapi.ErrNotFound],
// [pluginapi.ErrNotDeclared], [pluginapi.ErrBadContext]) matched with
// errors.Is in both runtimes. A process plugin's lookup crosses two
// processes (about 0.2 ms), a wasm guest's costs microseconds; cache values
// and refresh them from [Plugin.OnSettingChanged] when that matters.
//
// # Logging and output
//
// [InitRequest.Logger] is a *slog.Logger whose records reach the host's log
// under the plugin's name, at their level. Plain writes to os.Stdout and
// os.Stderr reach it too, line by line with a "stream" attribute (info and
// warning level), in both runtimes, within the plugin's output budget.
//
// # What still differs
//
//   - A wasm guest is sandboxed: no network, and files, environment, clock
//     and randomness only as the host grants them (docs/ABI.md §8). A
//     process plugin is an ordinary program.
//   - A wasm guest runs only while the host calls it: no goroutine runs
//     between events. A process plugin may run background work.
//   - ctx has the host's deadline in a process plugin; a wasm guest's host
//     enforces the deadline itself.
//   - A wasm guest's log attributes are folded into the message as
//     key=value text; a process plugin's stay attributes (in an order the
//     host does not keep).
//   - A lookup's answer has its source and rule id in both; a wasm guest's
//     also says its origin (service, snapshot or defaults), a process
//     plugin's the rule's conditions.
//   - The error texts name their runtime; what errors.Is matches does not
//     differ.
//
// # Testing
//
// Package plugintest loads the built wasm module or process binary through
// the host's runtimes against fake settings; this package's tests and
// examples/go-anywhere build one source both ways and check that both
// behave alike.
package portable
