// Package relay serves the Heksher v1 API to downstream clients from a
// replica of an upstream service's state, so that a fleet of clients costs
// the service one query per interval instead of one per client.
//
// # Quick start
//
//	r, err := relay.New(ctx, relay.Options{Upstream: "http://heksher:8888"})
//	if err != nil { … }
//	defer r.Close(ctx)
//	srv, err := r.Listen(ctx, relay.ListenOptions{Listen: "127.0.0.1:8181"})
//	if err != nil { … }
//	defer srv.Close(ctx)
//	// point clients at srv.URL(); or mount r.Handler() on a server of your own
//
// # What is served
//
// The relay keeps the upstream's whole state (context features, settings
// with their definitions, rules with their upstream ids and metadata) in an
// engine of package internal/server and answers every read with that
// engine's handler: GET /api/v1/query with every parameter and the same
// ETag and If-None-Match semantics, GET /api/v1/settings and
// /api/v1/settings/{name}, GET /api/health and the other reads. Status, body
// and ETag are those of the compatible server for the same state, so an
// unchanged Heksher client cannot tell a relay from the service. Every
// answer served from the replica carries the [wire.HeaderSnapshotAge]
// header: the seconds since the upstream last confirmed the snapshot.
//
// # Mirroring
//
// The relay asks its upstream for GET /api/v1/query?include_metadata=true
// with no settings parameter (every setting and every rule, whatever its
// downstream clients ask for), with If-None-Match, once per
// [Options.Interval]. When the upstream advertises the watch
// ([wire.HeaderWatch]) the relay long-polls instead; it offers the watch
// to its own clients in turn ([Options.DownstreamWatch]), so a change goes
// down a chain of relays as it happens. When the answer changed, or once
// the definitions are [Options.DefinitionsEvery] intervals old, it also
// reads
// GET /api/v1/settings?include_additional_data=true and GET
// /api/v1/context_features, builds the new state aside and swaps it in
// whole: downstream clients never see half of an update. An upstream that
// is down, slow or answers garbage leaves the last good snapshot in place
// (logged once per episode, counted in [Stats]); retries wait by package
// backoff.
//
// A downstream request that names a setting the replica does not know
// (404) triggers one immediate refresh before it is answered, shared by
// every request waiting at the time and at most one per
// [Options.MissRefreshEvery].
//
// # Writes
//
// Declarations are forwarded upstream and the upstream's answer passed
// back; one that created or changed a setting is followed by a refresh
// before it is answered, so the client's next query finds the setting.
// While the upstream cannot be reached, a declaration is answered as the
// service answers without its database (500 "Internal Server Error", after
// the usual validation). Other writes are refused (403) or forwarded, by
// [Options.Writes].
//
// # Limits
//
// Downstream: at most [Options.MaxWatchers] watches held (10,000), each at
// most [Options.DownstreamWatch] whatever its Prefer header asks; an answer
// must be taken within [ListenOptions.AnswerTimeout] of its first byte (1
// min); the listener's header, body and idle bounds. Upstream: each answer
// read up to [Options.MaxAnswer] (256 MiB) within [Options.RequestTimeout];
// redirects are never followed; at most [Options.MaxForwards] writes
// forwarded at once (16); a state that changes all the time is
// queried at most every 100 ms; refreshes for unknown names at most one per
// [Options.MissRefreshEvery]. docs/RELAY.md, "Limits", lists them all.
//
// # Concurrency
//
// A [Relay] is safe for concurrent use. It keeps no state per downstream
// client: its memory is bounded by its snapshot and the engine's bounded
// query cache.
package relay
