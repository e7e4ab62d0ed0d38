// Package host is heksher-host's engine: it runs the Heksher client core,
// loads wasm and process plugins, answers their setting lookups, fans the
// core's events out to them, and serves the admin pages.
//
// # Quick start
//
//	cfg, err := config.Load("host.yaml")
//	h, err := host.New(cfg.WithDefaults(),
//		host.WithLogger(logger),
//		host.WithConfigSource(func() (config.Config, error) { return config.Load("host.yaml") }),
//		host.WithLoader("wasm", host.WasmLoader(filepath.Join(cfg.StateDir, "wasm-cache"), logger)),
//		host.WithLoader("process", host.ProcessLoader(logger)))
//	err = h.Start(ctx)  // embedded server, plugins, declarations, first update (or fallback), admin
//	v, err := h.Lookup(ctx, "banner", []pluginapi.Feature{{Name: "user", Value: "alice"}})
//	err = h.Reload(ctx) // re-read the file, apply its plugin set
//	err = h.Close(ctx)  // closing event delivered, plugins stopped
//
// # Start-up
//
// [Host.Start] waits for the service at most the configured start-up
// timeout. A service that cannot be reached leaves the client serving the
// snapshot it saved in the state directory after its last successful update,
// or the local defaults, while declarations and updates are retried in the
// background; the status page says which ("service", "snapshot",
// "defaults"). The host is ready then, before any plugin has loaded: the
// plugins load next, all at once, each bounded by its start timeout, and
// the events published meanwhile wait for each of them.
//
// # Plugins
//
// Each plugin kind has a [Loader] (the wasm and process runtimes). The host
// reads each plugin's file, checks its SHA-256 when one is configured, and
// asks the loader for an initialised [pluginapi.Plugin]. A plugin's manifest
// names the events it wants and the settings it reads. The host declares
// those settings when the plugin joins, and fetches their values at once;
// two plugins declaring the same name identically share the setting, and a
// differing declaration fails the load of the later plugin in the
// configuration with a [*ConflictError].
//
// A plugin that fails is restarted by its runtime under one policy (see
// docs/HOST.md, "When a plugin fails") and, after too many failures in a
// row, left failed. [Host.Reload] restarts failed plugins even when their
// configuration did not change, and [Host.RestartPlugin] restarts one.
//
// [Host.Reload] compares the wanted plugin set with the running one by name,
// content hash and configuration: unchanged plugins keep running, new and
// changed ones are loaded first, and only when every load succeeded are they
// swapped in and the removed ones stopped. A failed reload leaves the running
// set exactly as it was.
//
// # Events
//
// Events reach plugins through a dispatch.Dispatcher shared with the client
// core: one bounded queue and worker per plugin, with the plugin's deadline
// on every delivery, so a slow, hung or crashing plugin delays only itself.
// When a queue is full the oldest event is dropped (never the closing event)
// and counted; the per-plugin numbering shows every gap. Embedders add
// in-process Go hooks with [WithHook]; they are subscribed the same way.
//
// # Concurrency
//
// A [Host] is safe for concurrent use. Lookups never block on the update loop
// or on a reload.
//
// # Admin server
//
// The host implements the admin package's Backend: the status page, the
// lookup API (with where each value came from), health checks and Prometheus
// metrics, on loopback unless a token is configured. See docs/HOST.md.
package host
