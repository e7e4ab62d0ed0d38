package heksher

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestClient_FollowsNoRedirect: a service (or something posing as one) that
// redirects must not get the client to send its headers, an API key, to
// another host.
func TestClient_FollowsNoRedirect(t *testing.T) {
	var stolen atomic.Int32
	thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "" {
			stolen.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer thief.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, thief.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()

	c, err := NewClient(redirector.URL, time.Hour, []string{"user"},
		WithHeaders(http.Header{"X-Api-Key": {"secret"}}), WithoutWatch())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = c.Track(ctx, "redirected", "int")
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("Track against a redirecting service: %v, want an *HTTPError with status 307", err)
	}
	if n := stolen.Load(); n != 0 {
		t.Fatalf("the host redirected to received the API key %d times", n)
	}
}
