// Package heksherof is an OpenFeature provider for Heksher settings: a Go
// service that evaluates flags through github.com/open-feature/go-sdk reads
// its Heksher settings with it, resolved locally by the client core
// (package heksher) without a network round trip.
//
//	p := heksherof.New(heksherof.WithTargetingFeature("user"))
//	c, err := heksher.NewClient(url, time.Minute, []string{"user", "theme"}, heksher.WithHooks(p))
//	…
//	_ = c.SetAsMain(ctx) // or p.UseClient(c) for a client that is not main
//	_ = openfeature.SetProviderAndWait(p)
//	of := openfeature.NewDefaultClient()
//	size, _ := of.IntValue(ctx, "cache_size", 50, openfeature.NewEvaluationContext("alice", map[string]any{"theme": "dark"}))
//
// It is named heksherof so that it sits beside the go-sdk's own package
// openfeature without an alias.
//
// # Flags
//
// A flag key is a setting name. The provider answers the settings of its
// client (WithClient or Provider.UseClient, or else whichever client is
// main; see
// heksher.Client.Settings) and the settings named with WithSettings (for
// example settings declared in Go that the client has not declared yet).
// Settings that another service owns are answered read-only, never
// declared, when named with WithTrackedSettings or WithTrackedSettingType,
// or all of them with WithAllServiceSettings: Init has the client track
// them by name (heksher.Client.Track), with their types from the service.
// Any other key is FLAG_NOT_FOUND, never a silent default.
//
// # Context, types, reasons and errors
//
// The mapping is that of docs/OPENFEATURE.md, shared with the host's OFREP
// endpoints: evaluation-context attributes are context features (those a
// setting is not configurable by are ignored, or refused with
// WithStrictContext); the targeting key is the feature named by
// WithTargetingFeature; a rule gives TARGETING_MATCH and its id as
// variant, the server default DEFAULT, the local default STATIC; a
// feature that resolution needs and lacks is INVALID_CONTEXT
// (TARGETING_KEY_MISSING for the targeting feature); an evaluation of the
// wrong type is TYPE_MISMATCH.
//
// # Events
//
// Give the provider to heksher.WithHooks when creating the client, so that
// it sees the client's updates:
//
//   - Init succeeds (PROVIDER_READY) once the client serves values from the
//     service or from a snapshot, or when there is no client at all (the
//     settings serve their defaults, or a test's stub values). Init of a
//     client that never retrieved values fails: the provider is in
//     PROVIDER_ERROR until an update succeeds.
//   - A successful update emits PROVIDER_CONFIGURATION_CHANGED with the
//     names of the settings whose rules or server default changed, and
//     PROVIDER_READY when the provider was stale or in error.
//   - A failed update emits PROVIDER_STALE when values were retrieved
//     before (they stay in force), PROVIDER_ERROR when none ever were.
//
// # Tests
//
// Tests of a service that uses the provider run in parallel, each with its
// own values, without the go-sdk's global singleton: each test creates an
// isolated OpenFeature API (package openfeature/isolated) with its own
// provider, and patches the settings' values with a scoped stub
// (heksher.NewScopedStub) whose context it passes to the evaluations.
//
// # Speed
//
// An evaluation of a setting whose Go type is bool, int64, float64 or
// string (Enum of strings included) allocates nothing inside the provider
// when the attributes are strings; other types decode wire JSON, as do
// settings tracked by name (their values are wire JSON).
package heksherof
