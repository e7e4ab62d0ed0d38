// Package hekshertest provides a Heksher-compatible server for tests, in
// the spirit of net/http/httptest.
//
// # Quick start
//
//	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "trust", "theme"))
//	// srv.URL is http://127.0.0.1:<port>; the server closes itself in t.Cleanup.
//	err := srv.Declare(hekshertest.Setting{Name: "size_limit", Type: "int", Default: 200,
//		ConfigurableFeatures: []string{"user", "theme"}})
//	id, err := srv.AddRule("size_limit", map[string]string{"theme": "bright"}, 10)
//
// The server speaks the whole Heksher v1 API and answers like the reference
// server 0.5.7 (see internal/server and docs/DEVSERVER.md): status codes,
// bodies, validation errors, ETags and 304s.
//
// # Faults
//
// Tests of a client's error handling script faults: [Server.EnqueueFault]
// queues faults for the next matching request or requests (a status and
// body, a delay, a body cut half-way, a connection closed without an
// answer), [Server.Intercept] installs a
// middleware that sees every request, and [Server.Stop] / [Server.Start]
// make the port refuse connections and come back. [Server.SetDatabaseDown]
// makes the server answer like the reference with its database stopped
// (health 500, API requests 500) while keeping the state. [Server.Requests]
// records every request received, so a test can assert exactly what a
// client sent.
//
// # Watch
//
// The server offers the watch, a long poll on GET /api/v1/query that this
// module adds to the v1 API (docs/DEVSERVER.md, "Watch"): every query
// answer carries a Heksher-Watch header, and a query with If-None-Match and
// "Prefer: wait=N" is held until its answer changes. The Go client uses it
// when it sees the header, so a rule change reaches it at once.
// [WithoutWatch] turns it off to emulate the real service, which has no
// watch; [WithWatchLimits] bounds it.
//
// # Reference behaviours
//
// By default the server reproduces the reference's quirks that clients can
// observe (for example its substring If-None-Match test and its
// lower-case-only reading of context_filters keys); [WithFixes] switches
// chosen ones to the intended behaviour.
//
// # Concurrency
//
// A Server is safe for concurrent use, and independent servers may run in
// parallel tests.
package hekshertest
