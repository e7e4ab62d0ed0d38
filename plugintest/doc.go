// Package plugintest runs a heksher plugin in a Go test, without a Heksher
// server or the heksher-host daemon: it loads a WebAssembly module (any
// language: Go, AssemblyScript, WAT, …) or a process plugin binary through
// the host's own runtimes (host/wasm, host/process), answers its lookups from
// fake settings with rules ([Settings]), sends it each kind of event, and
// records what it looked up and logged.
//
// # Quick start
//
//	func TestMyPlugin(t *testing.T) {
//		// the host's context defaults, then the settings with their rules
//		settings := plugintest.NewSettings(map[string]string{"user": "guest"}, plugintest.Setting{
//			Name:  "rate_limit",
//			Rules: []event.Rule{plugintest.Rule(7, "env", "prod")},
//		})
//		p := plugintest.New(t, "plugin.wasm", plugintest.Options{
//			Config:   json.RawMessage(`{"env":"prod"}`),
//			Settings: settings,
//		})
//		p.Reset() // forget what init looked up and logged
//		if err := p.SendSettingChanged(t.Context(), "rate_limit", plugintest.Rule(9, "env", "prod")); err != nil {
//			t.Fatal(err)
//		}
//		for _, l := range p.Logs() { t.Log(l) }     // "INFO setting rate_limit changed: …"
//		for _, l := range p.Lookups() { t.Log(l) }  // rate_limit for env=prod: 9 (rule)
//	}
//
// The plugin file is a wasm module when it starts with the wasm magic
// number and an executable otherwise ([Options].Kind overrides this). Open
// returns once the plugin is initialised; a module that does not validate
// against the ABI (docs/ABI.md) fails with an error matching
// [wasm.ErrInvalidModule], a failed init with the runtime's error.
//
// # Events
//
// [Plugin.SendDeclared], [Plugin.SendUpdateOK], [Plugin.SendUpdateError],
// [Plugin.SendSettingChanged] and [Plugin.SendClosing] each deliver one
// event, numbered as the host numbers them, and return what the plugin
// answered: nil, the error its handler returned, or its failure (a trap, a
// deadline, a crash). SendSettingChanged also gives the setting its new
// rules in the fake settings first, so the plugin's lookups see the change
// the event announces. [Plugin.SendInitialSettingChanged] sends it as a
// start-up change (the host's first update: old rules never retrieved) and
// [Plugin.SendClosingReason] a closing event with its reason (a reload
// replacing or removing the plugin). [Plugin.Send] delivers any event built
// by hand. The host delivers only the kinds a plugin subscribed to, and the
// changes of the settings it declared or selected, so do these: anything
// else returns [ErrNotSubscribed]. A change of a setting the plugin did not
// declare arrives marked unreadable, as in the host.
//
// # Lookups and logs
//
// [Plugin.Lookups] lists every lookup with its features, its answer (value,
// source, rule) or error; [Plugin.Logs] lists the plugin's log lines (and,
// for wasm, its stdout and stderr lines) with the runtime's lines about it,
// each with its level and attributes. [Plugin.Reset] forgets both. A plugin
// that floods its log is bounded twice: by the runtime's output budget, as
// in the host, and by [Options].MaxLogLines, past which lines are only
// counted ([Plugin.LogsDropped]).
//
// # Speed
//
// Each wasm plugin gets a runtime of its own, with a compilation cache on
// disk (under [os.UserCacheDir] unless [Options].CacheDir says otherwise):
// the first load of a module compiles it (about 1.5 s for a 3 MB Go guest,
// milliseconds for WAT or AssemblyScript), later loads read the machine code
// back. BENCHMARKS.md has the figures.
package plugintest
