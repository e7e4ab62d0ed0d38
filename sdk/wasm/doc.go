// Package wasm is the Go SDK for heksher plugins compiled to WebAssembly. It
// hides the plugin ABI (docs/ABI.md): a plugin registers its functions in
// init, and the SDK exports what the host calls.
//
// A new Go plugin is best written on package
// github.com/heksher-go/heksher/sdk/portable instead: one shape (handlers,
// lookups with source, origin, rule and conditions, errors, *slog.Logger)
// that builds as a wasm guest on this package with GOOS=wasip1 and as a
// process plugin on sdk/plugin otherwise. Use this package directly for its
// allocation-free paths (prepared contexts, typed getters, events read in
// place) when a guest's per-event cost matters.
//
// # Quick start
//
//	package main
//
//	import "github.com/heksher-go/heksher/sdk/wasm"
//
//	var prod = wasm.NewContext("env", "prod")
//
//	func init() {
//		wasm.Init(func(config []byte) error {
//			return wasm.Declare(wasm.Declaration{Name: "rate_limit", Type: "int",
//				ConfigurableFeatures: []string{"env"}, Default: []byte("100")})
//		})
//		wasm.OnSettingChanged(func(d wasm.Delivery, e wasm.SettingChanged) error {
//			limit, err := wasm.GetInt("rate_limit", prod)
//			…
//		})
//	}
//
//	func main() {}
//
// Build it as a WASI reactor with Go 1.24 or later:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// main is never called: the host calls the SDK's exports, which run the
// functions registered by package init functions.
//
// # Events
//
// Handlers receive a [Delivery] (the plugin's delivery number, drops, the
// event's own number and time) and a view of the event. Views decode the
// host's binary payload in place, without allocating; every string and slice
// they return aliases the host's buffer and is valid only until the handler
// returns. Use strings.Clone or bytes.Clone to keep anything.
//
// [OnSettingChanged] receives the changes of the settings the plugin
// declares, and of those it selects during init with [SubscribeSetting]
// ([AllSettings] for every one). A change of a setting the plugin may not
// read comes with [Delivery.Unreadable] set. [SettingChanged.Initial] marks
// the first values the host holds for a setting, at its start, which are no
// change made on the service. [OnClosing] comes when the host stops and when
// a configuration reload replaces or removes the plugin: [Delivery.Reason].
//
// A handler's error becomes status ERROR with the error's text; the host logs
// it and keeps the instance. Returning [ErrUnsupported] stops the host from
// sending that kind. A panic is not recovered: the host discards the instance
// and makes a fresh one, initialised again, for the next event. Keep no state
// that cannot be rebuilt from Init and later events, since instances are also
// replaced when their memory has grown.
//
// # Lookups
//
// [GetInt], [GetFloat], [GetBool], [GetString], [GetJSON] and [GetRaw] read a
// setting for a [Context]. Build fixed contexts once with [NewContext], or
// changing ones with a reused [ContextBuilder]; a lookup then allocates only
// its decoded value (none for numbers and bools, the string for GetString).
// A failed lookup returns [ErrNotFound], [ErrNotDeclared], [ErrBadContext]
// or [ErrHost] in a [*HostError] that carries the host's reason (why the
// context does not fit, which setting is unknown), and a value of another
// type [ErrType]; only a failure allocates (the error and its reason).
// Compare with errors.Is.
//
// # Limits
//
//   - No background goroutines between calls. A wasm instance has one
//     thread and runs only while the host is calling one of its exports.
//     A goroutine started by a handler runs only while some later handler
//     blocks, never between calls, so it cannot watch, poll or flush
//     anything on its own. A handler that waits for one (a channel, a
//     mutex) with nothing else able to run dies of Go's "all goroutines
//     are asleep" error, and one that sleeps or spins runs into its
//     deadline: either way the host discards the instance.
//   - One call at a time: handlers are never called concurrently, so plain
//     package variables need no locks.
//   - No network: wasip1 cannot open sockets, and the host pre-opens none.
//     Files, environment variables, the real clock and real randomness exist
//     only if the host's config grants them.
//   - encoding/json costs tens of microseconds per call in a wasm guest;
//     prefer the typed getters and the event views on hot paths.
//   - Loading a plugin costs time in proportion to its size, even from a
//     warm compilation cache (about 30 ms per MB of module on a small
//     server; see BENCHMARKS.md). The Go runtime alone is about 1.9 MB;
//     fmt adds about 0.7 MB and encoding/json about 0.5 MB more.
//   - Under a deadline (the host's default), every taken branch of Go code
//     in a guest costs a check by the host, tens of nanoseconds: Go compiles
//     jumps within a function into branches to one loop, and the runtime
//     checks for preemption at each loop header. Handlers that do little
//     per event stay in the microseconds; long loops over data pay per
//     iteration and per branch.
//
// # Testing
//
// The package also builds natively, where lookups report [ErrHost] and
// logging is dropped, so a plugin's own logic can be unit-tested with go test.
// host/wasm loads real guests in its tests.
package wasm
