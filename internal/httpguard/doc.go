// Package httpguard holds what every HTTP listener of the project puts in
// front of its handler: who may talk to it ([Guard]) and how long a client
// may take to send a request ([Limits]). The admin server, the dev server,
// hekshertest and the host's embedded server use it, so each listener gets
// the same rules.
//
// # Access
//
// [Guard] builds a middleware from the listener's address and an optional
// token:
//
//   - With a token, every request must carry "Authorization: Bearer
//     <token>" (the scheme in any case).
//   - Without a token, the listener must be a loopback address, and only
//     requests naming a loopback host are served: "localhost", an address in
//     127.0.0.0/8 or [::1], with any port. A page on another site that makes
//     its own name resolve to 127.0.0.1 (DNS rebinding) sends its own name
//     as Host and gets 421.
//   - Requests that can change state (every method but GET, HEAD and
//     OPTIONS) are refused with 403 when a browser marks them cross-origin
//     (Sec-Fetch-Site cross-site or same-site, or an Origin that is not the
//     Host), and with 415 when their body is a form type
//     (application/x-www-form-urlencoded, multipart/form-data, text/plain):
//     the types a page can send to another site without asking first. A
//     request without a body and without Content-Type, such as
//     `curl -X POST`, passes.
//
// # Reading requests
//
// [Limits.Apply] configures an [net/http.Server] so that a client cannot
// hold a connection by sending slowly: a bound on the header, a bound on
// the body (a read deadline set when the handler starts and cleared once
// the body has been read to its end), an idle bound and a header size cap.
// It sets no write timeout, so long responses and long polls are not cut.
package httpguard
