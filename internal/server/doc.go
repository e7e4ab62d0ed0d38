// Package server is an in-memory Heksher v1 server: the engine behind
// hekshertest, the heksher-devserver command and the plugin host's
// embedded default.
//
// # Compatibility
//
// The engine answers like the reference Heksher 0.5.7 server: the same
// status codes, the same JSON bodies byte for byte (key order included),
// the same text messages, FastAPI's validation answers (422 with "loc" and
// "type" per problem), FastAPI's routing conventions (404/405 JSON details,
// a 307 redirect for a trailing slash) and the same ETag (the quoted MD5 of
// the body) with its substring If-None-Match test. Where the reference has
// a bug, docs/DEVSERVER.md lists what the engine does; the bugs that change
// what clients see are reproduced by default and switchable in [Options].
// Storage details the reference's PostgreSQL makes visible are reproduced
// too: metadata reads back in its row and JSONB order (jsonb.go), and
// request bodies and query strings are read the way FastAPI and Starlette
// read them. [Engine.SetDatabaseDown] makes the engine answer like the
// reference with its database stopped, for testing clients against an
// outage.
//
// # Using it
//
//	eng, err := server.New(server.Options{ContextFeatures: []string{"user", "theme"}})
//	if err != nil { ... }
//	srv := &http.Server{Handler: eng.Handler()}
//
// Content can be added over HTTP, through [Engine.Call] (the same API with
// Go values as bodies), or from a [Seed] ([LoadSeedFile], [Engine.ApplySeed]).
// With Options.DataFile set, the state survives restarts: the file is
// rewritten atomically after every change.
//
// # Concurrency
//
// An Engine is safe for concurrent use. One read-write lock guards the
// state: queries and reads share it, changes take it exclusively, so every
// request sees and leaves a consistent state. Rendered query answers are
// cached until the next change.
package server
