package heksher

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/heksher-go/heksher/internal/wire"
)

// maxBody bounds how much of an answer the client reads.
const maxBody = 256 << 20

type answer struct {
	status int
	header http.Header
	body   []byte
	url    string
}

// endpoint returns the URL of path under the base, with an encoded query
// ("" for none).
func (c *Client) endpoint(path, rawQuery string) string {
	u := c.base + "/" + path
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	return u
}

// refuseRedirect is the default client's CheckRedirect: the 3xx itself is
// the answer.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// do sends one request and reads the whole answer. Transport and read
// failures are *RequestError; the status is not checked.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte, header http.Header) (answer, error) {
	var raw string
	if query != nil {
		raw = query.Encode()
	}
	return c.doRaw(ctx, method, path, raw, body, header)
}

// doRaw is do with the query already encoded.
func (c *Client) doRaw(ctx context.Context, method, path, rawQuery string, body []byte, header http.Header) (answer, error) {
	u := c.endpoint(path, rawQuery)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return answer{}, &RequestError{Method: method, URL: u, Err: err}
	}
	for k, vs := range c.cfg.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, &RequestError{Method: method, URL: u, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 500 {
		c.serviceAnswered()
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return answer{}, &RequestError{Method: method, URL: u, Err: fmt.Errorf("reading the answer (status %d): %w", resp.StatusCode, err)}
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b, url: u}, nil
}

func (a answer) ok() bool { return a.status >= 200 && a.status < 300 }

func (a answer) httpError(method string) *HTTPError {
	return &HTTPError{Method: method, URL: a.url, StatusCode: a.status, Body: a.body}
}

// getContextFeatures fetches the service's context features.
func (c *Client) getContextFeatures(ctx context.Context) ([]string, error) {
	a, err := c.do(ctx, http.MethodGet, wire.PathContextFeatures, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	if !a.ok() {
		return nil, a.httpError(http.MethodGet)
	}
	got, err := wire.DecodeContextFeatures(a.body)
	if err != nil {
		return nil, &DecodeError{URL: a.url, What: "context features", Err: err}
	}
	return got, nil
}

// Ping checks that the service answers its health endpoint with a 2xx
// status (docs/CONFORMANCE.md B41). It works without SetAsMain. The request is bounded by
// ctx and by the client's request timeout (see [WithRequestTimeout]),
// whichever ends first.
//
// # Errors
//
// A [*RequestError] when the service cannot be reached, an [*HTTPError] for
// any other status.
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.requestTimeout)
	defer cancel()
	a, err := c.do(ctx, http.MethodGet, wire.PathHealth, nil, nil, nil)
	if err != nil {
		return err
	}
	if !a.ok() {
		return a.httpError(http.MethodGet)
	}
	return nil
}
