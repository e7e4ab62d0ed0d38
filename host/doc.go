// Package host is heksher-host's engine: it runs the Heksher client core,
// loads wasm and process plugins, answers their setting lookups, fans the
// core's events out to them, and serves the admin pages.
//
// # Quick start
//
//	cfg, err := config.Load("host.yaml")
//	h, err := host.New(cfg.WithDefaults(), host.WithLogger(logger))
//	err = h.Start(ctx)      // declares, first update (or fallback), plugins, admin
//	…
//	err = h.Reload(ctx, newCfg) // hot plugin changes
//	err = h.Close(ctx)      // closing event, plugins stopped
//
// # Plugins
//
// Each plugin kind has a [Loader] (the wasm and process runtimes). The host
// reads each plugin's file, checks its SHA-256 when one is configured, and
// asks the loader for an initialised [hostapi.Plugin]. A plugin's manifest
// names the events it wants and the settings it reads. The host declares
// those settings before its first update; two plugins declaring the same name
// identically share the setting, and a differing declaration fails that
// plugin's load with a [*ConflictError].
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
package host
