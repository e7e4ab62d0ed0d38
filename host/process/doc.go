// Package process runs Heksher plugins as separate processes, on
// hashicorp/go-plugin over gRPC, and supervises them. A started [Plugin]
// implements pluginapi.Plugin, so the host fans events out to it as to a wasm
// plugin.
//
// # Quick start
//
//	p, err := process.Start(ctx, process.Config{
//		Name:   "alerter",
//		Path:   "/usr/lib/heksher/plugins/alerter",
//		SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
//		Config: json.RawMessage(`{"threshold": 3}`),
//		Logger: logger,
//	}, settings)
//	if err != nil { … }          // nothing is left running
//	defer p.Close(ctx)
//	err = p.Deliver(ctx, d)      // d is an event.Delivery
//
// # Starting
//
// Start checks that Path is an executable file and, when SHA256 is set, that
// the file hashes to it (before every start, restarts included); the file is
// read once into a private copy while it is hashed, and the copy is what
// runs, so a file replaced between the check and the exec cannot run. It
// starts the binary directly (no shell) with Args and only Env (not the
// host's environment), with mutual TLS negotiated afresh for every process
// (go-plugin's AutoMTLS, always on), and its unix sockets in a private
// directory of mode 0700. It then serves the host's Settings service on a
// new go-plugin broker id, calls the plugin's Init with that id and Config,
// and reads the plugin's manifest. The plugin dials the broker once and
// keeps the connection for all its lookups. The whole start is bounded by
// Config.StartTimeout, whatever the plugin does (a plugin that never
// completes the handshake, and leaves a child holding its output, included).
//
// # Supervision
//
// Every call into the plugin has a deadline (Config.Deadline, and the
// delivery's ctx). Between events a health check runs every
// Config.HealthInterval. The process is killed and restarted when
//   - it exits or crashes (noticed at once, during a call or not),
//   - Config.TimeoutStrikes deliveries in a row overrun their deadline
//     (a hung plugin), or
//   - a health check fails.
//
// Restarts wait Config.Backoff (doubling up to its Max, with jitter); after
// Config.MaxRestarts restarts in a row (until a process has run for
// [StableRun]; successful deliveries do not reset the count) the plugin is
// given up ([ErrFailed], state failed) and no process is started until
// [Plugin.Restart], which also restarts a running plugin. A restarted plugin is initialised completely again (new process, new broker
// and Settings connection, Init with its config, manifest read again) before
// it gets an event.
// [Plugin.Status] shows the state (running, restarting, failed, stopped), the
// last error, the restart count and the pid.
//
// While a restart is under way, [Plugin.Deliver] waits for it as long as its
// ctx allows, so that the event after a crash reaches the fresh process; a
// host that prefers to skip events gives Deliver a short ctx and gets
// [ErrRestarting].
//
// # Orphans
//
// A plugin's process tree never outlives the plugin or the host. On Linux
// each plugin process is PID 1 of a PID namespace of its own (with a user
// namespace mapping only the host's uid and gid when the host is not root);
// when it ends, for any reason, the kernel kills every process left in the
// namespace, setsid descendants included. Close asks the plugin to exit and
// kills it after a grace period; if the host dies without closing, even by
// SIGKILL, the kernel SIGKILLs each plugin process (the parent-death signal;
// the process is forked from a thread locked for the plugin's lifetime,
// since the signal follows the forking thread), which ends its namespace.
// Where namespaces are not permitted, the plugin runs in a process group of
// its own, which is killed with it (a descendant that starts its own
// session escapes), and the SDK's parent watch covers the rest; a warning
// says so once. Status's Detail["isolation"] shows which.
//
// Only the host decides when a plugin stops: each plugin runs in a process
// group of its own, so a signal sent to the host's group (Ctrl-C in a
// terminal, `timeout`, a service manager's stop) does not reach it, and the
// host can still deliver the closing event before it calls Close. Once Close
// has begun, a plugin that dies is not restarted.
//
// # Logging
//
// The plugin's log records (written by sdk/plugin as go-plugin's JSON lines)
// and go-plugin's own messages go to Config.Logger with a "plugin" attribute;
// the plugin's records also carry "logger" (the plugin's name) and their own
// attributes. A panic trace is logged at error level.
//
// # Errors
//
// Start returns a [*StartError] wrapping fs.ErrNotExist, [ErrNotExecutable],
// [ErrChecksumMismatch] ([*ChecksumError]), [ErrNotPlugin],
// [ErrIncompatibleVersion], [ErrStartTimeout] or [ErrInit]. Deliver returns
// [ErrCrashed], [ErrRestarting], [ErrFailed], [ErrClosed],
// context.DeadlineExceeded for an overrun, or a [*HandlerError] carrying the
// plugin handler's error text.
//
// # Concurrency
//
// A Plugin is safe for concurrent use by Status, Manifest and Close;
// Deliver is called from one goroutine at a time (the host's per-plugin
// worker), as pluginapi.Plugin requires.
package process
