package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/heksher-go/heksher/internal/server"
)

// maxForward bounds a forwarded request's body and the upstream's answer
// to it: the compatible server's own body bound (8 MiB), which a larger
// body would only meet upstream.
const maxForward = 8 << 20

// refusedText is the body of the 403 that refused writes get.
const refusedText = "heksher relay: rule and setting writes are refused here (relay.writes is \"refuse\"); send them to the Heksher service"

// write answers a request that can change the state: a declaration is
// forwarded; other writes are forwarded or refused by Options.Writes.
func (r *Relay) write(w http.ResponseWriter, req *http.Request) {
	if !server.IsDeclare(req.Method, req.URL.Path) && r.opts.Writes != ForwardWrites {
		r.stats.refused.Add(1)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, refusedText) // the client went away; nothing to do
		return
	}
	r.forward(w, req)
}

// forward sends req upstream and passes the answer back. An upstream that
// cannot be reached gets the answer of a service without its database.
func (r *Relay) forward(w http.ResponseWriter, req *http.Request) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(req.Body, maxForward+1))
		if err != nil || len(b) > maxForward {
			// Too large or unreadable: the engine gives the answer it
			// gives to such a body (413, or 408 for one not sent in
			// time), from what could be read and the same error.
			rest := io.Reader(bytes.NewReader(nil))
			if err != nil {
				rest = errReader{err}
			}
			req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), rest))
			r.down.Handler().ServeHTTP(w, req)
			return
		}
		body = b
	}
	ctx, cancel := context.WithTimeout(req.Context(), r.opts.RequestTimeout)
	defer cancel()
	select {
	case r.forwards <- struct{}{}:
		defer func() { <-r.forwards }()
	case <-ctx.Done():
		r.unreachable(w, req, body, fmt.Errorf("relay: waiting for one of the %d upstream writes in flight: %w", cap(r.forwards), ctx.Err()))
		return
	}
	// The path as the client escaped it: the decoded one would let "%23"
	// or "%3F" cut it short upstream (DELETE /api/v1/rules/5%23 is a
	// malformed id, not rule 5).
	target := r.base + req.URL.EscapedPath()
	if req.URL.RawQuery != "" {
		target += "?" + req.URL.RawQuery
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	up, err := http.NewRequestWithContext(ctx, req.Method, target, rd)
	if err != nil {
		r.unreachable(w, req, body, err)
		return
	}
	for k, vs := range r.opts.Header {
		up.Header[k] = vs
	}
	if ct := req.Header.Get("Content-Type"); ct != "" {
		up.Header.Set("Content-Type", ct)
	}
	r.stats.forwarded.Add(1)
	resp, err := r.client.Do(up)
	if err != nil {
		r.unreachable(w, req, body, err)
		return
	}
	ans, err := io.ReadAll(io.LimitReader(resp.Body, maxForward+1))
	_ = resp.Body.Close()
	switch {
	case err == nil && len(ans) > maxForward:
		err = fmt.Errorf("relay: %s %s: answer larger than %d bytes", req.Method, target, maxForward)
	case err == nil && resp.StatusCode/100 == 3:
		// The v1 API never redirects a write it routes; passing the
		// Location on would send the client (with its token) elsewhere.
		err = fmt.Errorf("relay: %s %s: redirect to %q refused", req.Method, target, resp.Header.Get("Location"))
	}
	if err != nil {
		r.unreachable(w, req, body, err)
		return
	}
	if resp.StatusCode/100 == 2 && r.mayChange(req, body, ans) {
		// The client's next request must see what it just wrote.
		if _, err := r.refresh(ctx); err != nil {
			r.log.Warn("relay: refresh after a forwarded write failed; the change shows at the next sync",
				"method", req.Method, "path", req.URL.Path, "err", err)
		}
	}
	for _, k := range []string{"Content-Type", "Location", "Allow"} {
		if v := resp.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(ans) // the client went away; nothing to do
}

// mayChange reports whether a successful write calls for a refresh: every
// write but a declaration that changed nothing the replica lacks (up to
// date or outdated, of a setting it knows), the declaration every client
// repeats at every start.
func (r *Relay) mayChange(req *http.Request, body, ans []byte) bool {
	if !server.IsDeclare(req.Method, req.URL.Path) {
		return true
	}
	var out struct {
		Outcome string `json:"outcome"`
	}
	if json.Unmarshal(ans, &out) != nil || (out.Outcome != "uptodate" && out.Outcome != "outdated") {
		return true
	}
	var decl struct {
		Name string `json:"name"`
	}
	return json.Unmarshal(body, &decl) != nil || !r.replica.Knows(decl.Name)
}

// unreachable answers a write whose upstream could not be reached as the
// service answers without its database: validation first, then 500.
func (r *Relay) unreachable(w http.ResponseWriter, req *http.Request, body []byte, err error) {
	r.stats.unreachable.Add(1)
	r.log.Warn("relay: upstream unreachable for a write; answered as a service without its database",
		"method", req.Method, "path", req.URL.Path, "err", err)
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.down.Handler().ServeHTTP(w, req)
}

// errReader fails every read with its error.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
