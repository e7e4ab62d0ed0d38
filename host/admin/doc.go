// Package admin is heksher-host's admin HTTP server: a status page, a lookup
// API, health checks and Prometheus metrics.
//
// # Endpoints
//
//	GET  /                          status page (HTML, no JavaScript, refreshes itself)
//	GET  /api/v1/status             the same facts as JSON
//	GET  /api/v1/lookup/{setting}?feature=value…
//	                                the value and where it came from
//	POST /api/v1/reload             reload the plugin set from the configuration
//	POST /api/v1/plugins/{name}/restart
//	                                restart one plugin (also a failed one)
//	GET  /healthz                   200 while the process serves
//	GET  /readyz                    200 once values are being served
//	GET  /metrics                   Prometheus text format
//
// The server knows nothing of the client core or the plugins: it reads
// everything through the small [Backend] interface, which package host
// implements, so it is tested on its own with a fake backend.
//
// # Security
//
// Setting values can be sensitive. [New] refuses a listen address that is not
// loopback unless a bearer token is configured; with a token, every request,
// health checks included, must carry "Authorization: Bearer <token>".
//
// # Metrics
//
// [Metrics] owns a private Prometheus registry (never the global one). The
// host feeds it update results and plugin delivery timings as they happen;
// per-plugin counters kept by the plugin runtimes are read at scrape time.
//
// # Concurrency
//
// A [Server] and a [Metrics] are safe for concurrent use.
package admin
