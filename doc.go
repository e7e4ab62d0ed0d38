// Package heksher is a client for Heksher, a service of dynamic settings: it
// declares an application's settings to the service, keeps their rules up to
// date in the background, and answers every read locally, without locks or
// allocations.
//
// # Quick start
//
// Declare settings (usually as package-level variables), create a [Client],
// and make it the main client. From then on, [Setting.Get] resolves a value
// for each request's context:
//
//	var cacheSize, _ = heksher.NewSetting("cache_size", heksher.Int(), []string{"user", "theme"}, 50)
//
//	func main() {
//		c, err := heksher.NewClient("http://heksher:8888", time.Minute, []string{"user", "theme"},
//			heksher.WithLogger(logger))
//		if err != nil { … }
//		defer c.Close()
//		_ = c.TrackContexts(map[string][]string{"user": {"admin", "guest"}, "theme": {heksher.TrackAll}})
//		_ = c.SetDefaults(map[string]heksher.Default{"theme": heksher.Static("light"), "user": heksher.FromContext(userFromCtx)})
//		if err := c.SetAsMain(ctx); err != nil { … } // declares pending settings, runs the first update
//
//		size, err := cacheSize.Get(ctx, map[string]string{"user": "admin", "theme": "dark"})
//	}
//
// A setting created before any client waits for the first one; a setting
// created later is declared in the background. [NewClient] does no I/O;
// [Client.SetAsMain] checks the service's context features, declares the
// pending settings in creation order and runs one query. The client only
// downloads rules whose conditions it tracks ([Client.TrackContexts]). A
// setting that another service owns is kept up to date by name, read-only
// and without a declaration, with [Client.Track].
//
// # Settings and types
//
// A [Setting] has a name, a [Type], its configurable context features in
// resolution order, and a local default. The type says both the Go type of
// the values and the Heksher type string declared to the service:
//
//	heksher.Int()                 // int          → int64 (3.0 is rejected, as the reference client does)
//	heksher.Float()               // float        → float64
//	heksher.Str()                 // str          → string
//	heksher.Bool()                // bool         → bool
//	heksher.Enum(members...)      // Enum[…]      → any comparable type, one member per wire primitive
//	heksher.Flags("a", "b")       // Flags[…]     → FlagSet
//	heksher.Sequence(t)           // Sequence<…>  → []T
//	heksher.Mapping(t)            // Mapping<…>   → map[string]T
//
// A type known only at run time (from configuration, or declared on behalf
// of a plugin) comes from [ParseType]; its values are wire JSON
// ([encoding/json.RawMessage]) and it uses the same machinery and speed.
//
// Server values are converted by the reference client's rules: a value is
// clean, coerced (kept with losses, e.g. an unknown flag dropped) or rejected
// (the rule is dropped; a rejected server default keeps the previous one).
// [WithOnCoerce] and [RejectCoercions] decide what a coercion does, and
// [Setting.AddValidator] adds checks that run on every server value. The
// local default never goes through them, and neither do stub values.
//
// Invalid input is reported by [NewSetting], never at first use: a bad
// version string, an invalid type or default, an on-coerce hook of the wrong
// type. All such errors match [ErrInvalidSetting].
//
// # Resolution
//
// A rule is a set of exact-match conditions on configurable features plus a
// value. For a read, the namespace is the explicit values, then the
// supplying client's defaults ([Client.SetDefaults]: [Static] values, or
// [FromContext] functions of the request's context). Among the matching
// rules, the one whose last exact condition is on the latest feature wins;
// ties go to the rule that is exact at the first feature where the
// candidates differ. With no match, the server default if one was accepted,
// else the local default.
//
// A feature that resolution reaches without a value is an error
// ([ErrMissingContextFeature]); the check is lazy, as in the reference: a
// feature that no matching path needs is not required. An explicit feature
// the setting does not configure is an error ([ErrNotConfigurable]).
//
// [Setting.Lookup] also says where a value came from (the rule's id and
// conditions, the server default, the local default), and every setting is
// an [AnySetting] whose LookupJSON does the same in wire JSON, for code that
// handles settings of any type.
//
// For several reads per request, prepare the values once with [NewFeatures]
// and read with [Setting.GetFor]: the values are hashed once, the client's
// warnings are checked once, and each read costs a few tens of nanoseconds.
//
// A context value the client does not track (see [Client.TrackContexts]),
// explicit or from a default, means its rules are never downloaded: the
// client warns once per such value (up to 256 of them), so that a forgotten
// TrackContexts is seen. Values chosen outside the program (a lookup API,
// OFREP, a relay) are logged at DEBUG instead: mark their reads with
// [ExternalContext].
//
// # Updates and hooks
//
// After SetAsMain, a background loop polls the service every interval,
// measured from the end of one attempt, with If-None-Match: an unchanged
// answer (304) changes nothing. Each answer is converted and collated out of
// every reader's way, then swapped in, per setting, as one immutable
// snapshot of rules and server default. [Client.Reload] waits for pending
// declarations, then for an attempt that started after the call, returns its
// error and restarts the interval. [Client.ModificationLock] holds updates
// back while the caller needs a consistent view of several settings (Get
// never takes it); holding it while waiting for Reload deadlocks.
//
// A server of this module (heksher-devserver, hekshertest, the host's
// embedded server and relay) advertises a watch on its query answers: the
// client then sends its next update at once as a long poll that the server
// holds until the answer changes, so a rule change arrives in milliseconds
// instead of at the next interval. The real Heksher service has no watch,
// and against it the client polls as described above; [WithoutWatch] makes
// it poll everywhere. Events are the same either way: one OnUpdateOK (or
// OnUpdateError) per answered query. An update split into several queries
// ([WithMaxQueryURL]) does not watch.
//
// Hooks ([Hook], embed [NopHook]; [WithHooks]) receive the client's events:
// OnDeclared, OnUpdateOK, OnUpdateError (exactly one of the two per
// attempt), OnSettingChanged (rules or server default really changed) and
// OnClosing. Each hook has its own queue, worker and deadline (package
// dispatch; [WithDispatcher] shares one with a host), so a slow or panicking
// hook never delays an update or a read. Hooks never run inside Get.
//
// [Client.Status] reports where the served values come from ([Origin]:
// defaults, service or snapshot) and how the last attempts went. For
// resilience, [WithDegradedStart] keeps a client serving and retrying when
// the service is unreachable at start, and [WithSnapshotFile] saves each
// answer and loads it at start. Declarations still awaiting a retry block a
// switch of the main client, like queued ones: closing such a client and
// making another main fails with a [MainSwitchError] naming them, rather
// than leaving them with no client to declare them.
//
// A tracked setting deleted on the service does not stop the updates of the
// others: the service's 404 naming it marks it missing ([Client.Status]
// lists it; one OnUpdateError carries a [MissingSettingsError]), it keeps its
// last values and leaves the query, which is sent again at once. Declaring
// the name again, Track, or a recheck once a minute that finds it on the
// service brings it back.
//
// # Logging
//
// The client logs to its [WithLogger] logger, by default [slog.Default], with
// the reference client's messages and levels. One failure gives one line:
// while the service cannot be reached, the first failed request is logged
// at its level and the following ones at DEBUG, until the service answers
// again (logged once at INFO); [Client.Status] and the hooks still count
// every failure. Mistakes that would otherwise pass unseen are logged too:
// a read before any client is main (once per setting, on slog.Default), two
// settings of one name that differ, a declaration the service answers with
// a conflict.
//
// # Concurrency
//
// [Client], [Setting], [StubClient] and [Features] are safe for concurrent
// use. Close is idempotent, waits for the client's goroutines, and does not
// vacate the main slot. Get, GetFor and Lookup never lock and, for up to 8 configurable
// features, never allocate; a reader always sees one whole rule set. Values
// returned by Get are shared: treat slices, maps and [FlagSet] values as
// read-only. Settings and clients hold atomics and must not be copied.
//
// The only global state is the main-client slot, shaped like slog's default
// logger: settings register with whatever occupies it when they are created
// ([WithClient] registers with a given client instead). [MainClient] returns
// it, and tests reset it with [ResetMainForTesting].
//
// # Errors
//
// Errors are checked with errors.Is and errors.As. Reads: [ErrNotConfigurable]
// (*[NotConfigurableError]) and [ErrMissingContextFeature]
// (*[MissingFeatureError]). Construction: [ErrInvalidSetting]. Conversions:
// [ErrRejected] (*[ConversionError]), reported in update events. A panicking
// hook or validator fails the update with [ErrPanic] (*[PanicError]). The
// client's life: [ErrClosed], [ErrAlreadyMain], [ErrNotRunning],
// [ErrMainSwitch] (*[MainSwitchError]), [ErrDuplicateDefault] and
// [ErrInvalidTracking]. Talking to the service: *[HTTPError] (a non-2xx
// answer, with its status and body), *[RequestError] (transport failures,
// cut bodies) and *[DecodeError] (an answer that cannot be read). Each error
// says what failed once (a failed SetAsMain also says what to do next), and
// the causes stay reachable with errors.As.
//
// A declaration the service refuses as it stands (409) is a
// *[ConflictError] ([ErrDeclarationConflict]): the setting is still kept up
// to date, with the service's declaration, so its reads may fall back to
// the local default. [Client.Status] lists the conflicts, and
// [Setting.DeclarationConflict] and [Setting.Lookup] report a setting's
// own; with [WithStrictDeclarations], SetAsMain fails on one.
//
// # Testing
//
// Code that reads settings is tested without a server through [StubClient]:
// make it main, then give settings values or rule lists; [PatchValue] and
// [PatchRules] restore them when the test ends:
//
//	heksher.ResetMainForTesting()
//	t.Cleanup(heksher.ResetMainForTesting)
//	stub := heksher.NewStubClient()
//	_ = stub.SetAsMain(ctx)
//	heksher.PatchValue(t, stub, cacheSize, 10)
//	heksher.PatchRules(t, stub, theme,
//		heksher.StubRule[string]{Value: "light"},
//		heksher.StubRule[string]{Conditions: map[string]string{"user": "admin"}, Value: "dark"})
//
// A stub made main patches settings for the whole process, so tests that
// patch the same setting must not run in parallel. For parallel tests, use
// a scoped stub: its values are seen only by reads made with the context it
// returns, package-level settings included, and each test has its own:
//
//	t.Parallel()
//	stub := heksher.NewScopedStub()
//	ctx := stub.Context(t.Context())
//	heksher.PatchValue(t, stub, cacheSize, 10)
//	v, _ := cacheSize.Get(ctx, nil) // 10 here, whatever other tests patch
//
// The code under test must pass the context down to its reads. Reads of a
// setting that no scoped stub patches cost nothing more.
//
// Stub values bypass conversion and validators; the stub's defaults behave
// like a client's. To test against the HTTP API itself, the hekshertest
// package runs a compatible server in-process; docs/PYTHON-MAPPING.md maps
// every method of the Python clients to this package.
package heksher
