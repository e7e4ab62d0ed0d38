package wire

// Watch: a long poll on GET /api/v1/query, an addition to the v1 API that
// servers advertise and clients use only when advertised, so both sides keep
// working with the real Heksher service, which has neither header.
//
// A server that supports it sets [HeaderWatch] on every query answer (200 and
// 304) to "wait=<max seconds>". A client that saw it may send its next query
// with If-None-Match and [HeaderPrefer] "wait=<seconds>" (RFC 7240): the
// server then holds the request until the answer's ETag differs from the one
// given, or the wait (capped at its max) ends, and answers as usual (200 with
// the new body, or 304). The body and ETag are exactly those of a plain query.
const (
	// HeaderWatch is the response header that advertises the watch and its
	// longest wait, e.g. "wait=60".
	HeaderWatch = "Heksher-Watch"
	// HeaderPrefer is the request header that asks for a watch, e.g.
	// "wait=30" (the RFC 7240 Prefer header's wait preference).
	HeaderPrefer = "Prefer"
	// HeaderSnapshotAge is set by a relay on every answer it serves from its
	// snapshot: the seconds (a decimal, e.g. "0.250") since the snapshot was
	// last confirmed by its upstream.
	HeaderSnapshotAge = "Heksher-Snapshot-Age"
)
