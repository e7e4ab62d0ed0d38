package heksher

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Ping and GetSettings are bounded by the client's request timeout as well
// as by their caller's context: a service that accepts the connection and
// never answers yields a *RequestError wrapping DeadlineExceeded, even with
// a context that never ends.
func TestClient_PingAndGetSettingsRequestTimeout(t *testing.T) {
	hung := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // hangs until the client gives up (or the test ends)
		case <-r.Context().Done():
		case <-hung:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hung) })
	tests := []struct {
		name string
		call func(c *Client, ctx context.Context) error
	}{
		{"Ping", func(c *Client, ctx context.Context) error { return c.Ping(ctx) }},
		{"GetSettings", func(c *Client, ctx context.Context) error { _, err := c.GetSettings(ctx); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newTestClient(t, srv.URL, nil, WithRequestTimeout(50*time.Millisecond))
			done := make(chan error, 1)
			go func() { done <- tc.call(c, context.Background()) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second): // far beyond the 50ms timeout: the timeout was not applied
				t.Fatal("the call did not end: the request timeout was not applied")
			}
			var re *RequestError
			if !errors.As(err, &re) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s = %v, want a *RequestError wrapping context.DeadlineExceeded", tc.name, err)
			}
		})
	}
}
