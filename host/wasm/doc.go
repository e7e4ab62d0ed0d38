// Package wasm runs heksher plugins compiled to WebAssembly, on wazero, under
// the heksher plugin ABI v1 (docs/ABI.md). A loaded [*Plugin] implements
// pluginapi.Plugin: the host hands it events with Deliver and reads its Status;
// the plugin reads settings back through the pluginapi.Settings given at load.
//
// # Quick start
//
//	rt, err := wasm.NewRuntime(ctx, wasm.RuntimeConfig{CacheDir: stateDir + "/wazero-cache", Logger: log})
//	…
//	defer rt.Close(ctx)
//	p, err := rt.Load(ctx, wasm.PluginConfig{
//		Name:   "changes",
//		Path:   "plugins/changes.wasm",
//		Config: json.RawMessage(`{"context":{"env":"prod"}}`),
//	}, settings)
//	…
//	err = p.Deliver(ctx, event.Delivery{Event: ev, Seq: 1})
//
// # Loading and validation
//
// [Runtime.Load] reads the module (checking its SHA-256 if configured),
// compiles it with wazero's optimising compiler through a compilation cache
// (on disk when [RuntimeConfig.CacheDir] is set: a 3.4 MB Go guest then
// loads in about 120 ms instead of about 1.5 s, most of it wazero decoding,
// validating and reading back the cached code; see BENCHMARKS.md), and
// validates it
// before anything of it runs: the ABI marker, the memory, every export's
// signature and every import against what the host provides. A failure is a
// [*ValidationError] naming the plugin and listing every problem, a
// misspelt name with the valid ones closest first. Load then makes the
// plugin's instance and initialises it, which gives the plugin's manifest:
// the settings it declared and the events it subscribed to.
// [Runtime.Check] does the reading and validating alone, running nothing of
// the module (heksher-host -check and heksher-plugin validate use it).
//
// # Instances, deadlines and failures
//
// Each plugin owns one instance, driven by the goroutine that calls Deliver
// (the host runs one worker per plugin). Every call into the guest has a
// deadline: the sooner of the caller's and [PluginConfig.Deadline], and a
// cancelled caller's context also stops the call. wazero can only stop
// running guest code when its runtime is built with close-on-context-done,
// which makes compiled code check for a closed module at every loop header
// (in Go guests, whose jumps all go through one loop per function, at every
// taken branch: tens of nanoseconds each) and starts a goroutine per call. A delivery's deadline is enforced by a per-instance watchdog (one
// reusable timer, plus context.AfterFunc when the caller's context can be
// cancelled) that closes the done channel of the instance's reusable call
// context, rather than by a deadline in the call's context, which would add
// a timer context per call; wazero then sets the module's exit code and the
// calling goroutine releases the module (never another goroutine, under
// running guest code). [Plugin.Close] stops a call in flight the same way,
// so closing never waits for a call's deadline. Since close-on-context-done
// is a runtime-wide switch, a [Runtime] keeps one
// wazero runtime per policy (and per memory limit, also runtime-wide) and
// puts each plugin in the one its config asks for. Preemption is on unless
// [PluginConfig.DisablePreemption] is set for a trusted plugin.
//
// A trap, a guest panic, running out of memory, a WASI exit or a timeout
// discards the instance; the next Deliver makes a fresh one, initialised
// again with the plugin's config. From the second failure in a row on, a
// backoff applies, and after MaxConsecutiveFailures the plugin is marked
// failed (pluginapi.StateFailed) until it is reloaded. [Plugin.Status] shows
// the state, the consecutive failures, when a pending restart is due and the
// memory the instance reached. An error status returned
// by the guest is an ordinary failed delivery: the instance stays. An instance
// whose memory grew past RecycleAbovePages is replaced after the call. Other
// plugins never notice.
//
// # Sandbox
//
// A guest gets no network (wasip1 cannot open sockets, and none are
// pre-opened), no files, no environment,
// a fake clock and a deterministic random source, unless [Grants] in its
// config give it a directory (read-only or not), named variables, the real
// clock or crypto/rand. A granted directory is an [os.Root]: every path the
// guest names resolves beneath it, a symbolic link in it is followed only
// while it stays beneath it, and the guest cannot make symbolic or hard
// links (docs/ABI.md §8). Its memory is capped by MemoryLimitPages:
// memory.grow past it fails, and a guest that then touches memory it lacks
// traps (a Go guest aborts with "out of memory"). On Linux the memory is
// reserved at the limit outside the Go heap and grows in place, so growing
// costs other plugins nothing. Its stdout
// and stderr are logged line by line through [RuntimeConfig.Logger] with a
// "plugin" attribute, as are its log calls.
//
// # Lookups
//
// A guest's get_setting calls go to pluginapi.Settings.Lookup with the
// plugin's name, on the goroutine that called Deliver, with its context's
// values but not its cancellation (the watchdog stops an overdue guest by
// closing its module, not through the context), so Lookup must not block.
// The host side does not allocate in the steady state: strings handed to
// Lookup come from a per-instance intern table (never aliasing guest memory),
// and the features slice is reused, so Lookup must not keep it.
//
// A host function that refuses a call records why, for the guest's
// last_error (docs/ABI.md §3), and logs it at DEBUG with the plugin's name
// within the plugin's output budget.
//
// # Concurrency
//
// A [Runtime] is safe for concurrent use. A [Plugin]'s Deliver calls are
// serialised; Status and Close may be called from any goroutine.
//
// # Testing
//
// The package's tests use a small in-memory pluginapi.Settings defined in its
// _test.go files; the host's real Settings lives in package host. The test
// guests are built by `make wasm`.
package wasm
