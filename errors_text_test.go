package heksher

import (
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"
)

// One refused connection at start is one failure: the returned error says
// what failed once, in Go spelling, with the next step, and one line is
// logged (the first request that met it); the other requests that met the
// same refusal log at DEBUG.
func TestSetAsMain_RefusedConnection_OneErrorOneLine(t *testing.T) {
	freshMain(t)
	mustSetting(t, "cache_size", Int(), []string{"b"}, 50)
	dead := deadURL(t)
	c, lc := newTestClient(t, dead, []string{"a", "b"})
	err := c.SetAsMain(ctxT(t))
	host := strings.TrimPrefix(dead, "http://")
	want := "heksher: set as main: first update: GET " + dead + "/api/v1/query: dial tcp " + host +
		": connect: connection refused (the client is closed; start the service or correct its URL, " +
		"or use WithDegradedStart to serve the local defaults and retry in the background)"
	if err == nil || err.Error() != want {
		t.Fatalf("SetAsMain error:\n got %v\nwant %s", err, want)
	}
	if _, ok := errors.AsType[*RequestError](err); !ok {
		t.Fatalf("SetAsMain = %v, want a *RequestError inside", err)
	}
	if _, ok := errors.AsType[*url.Error](err); !ok {
		t.Fatalf("SetAsMain = %v: the net/http cause must stay reachable", err)
	}
	if n := lc.countAtLeast(slog.LevelInfo); n != 1 || !lc.has(slog.LevelError, "^failure to get context_features from heksher service$") {
		t.Fatalf("%d lines at INFO or above, want exactly the context-feature failure:\n%s", n, lc.dump())
	}
	if d := lc.attrs(slog.LevelDebug, "^setting declaration failed$"); len(d) != 1 || d[0]["setting"] != "cache_size" {
		t.Fatalf("declaration failure = %v, want one at DEBUG about cache_size:\n%s", d, lc.dump())
	}
	for _, r := range lc.attrs(slog.LevelError, ".") {
		if e := r["error"]; strings.Count(e, dead) != 1 || strings.Contains(e, `Get "`) {
			t.Fatalf("logged error %q does not say its URL exactly once", e)
		}
	}
}

// With a degraded start the same refusal gives one line at WARN or above
// however many retries follow, and an INFO saying what is served.
func TestDegradedStart_RefusedConnection_OneLine(t *testing.T) {
	freshMain(t)
	mustSetting(t, "cache_size", Int(), []string{"b"}, 50)
	c, lc := newTestClient(t, deadURL(t), []string{"a", "b"},
		WithDegradedStart(Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond}))
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatalf("SetAsMain = %v, want nil (degraded)", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.Status().Attempts < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d update attempts in 10s", c.Status().Attempts)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := lc.countAtLeast(slog.LevelWarn); n != 1 {
		t.Fatalf("%d lines at WARN or above after %d failed attempts, want 1:\n%s", n, c.Status().Attempts, lc.dump())
	}
	if !lc.has(slog.LevelInfo, "^heksher: service unavailable at start; serving the local defaults and retrying in the background$") {
		t.Fatalf("no INFO saying what is served:\n%s", lc.dump())
	}
	if n := lc.count(slog.LevelDebug, "^error during heksher update$"); n < 4 {
		t.Fatalf("%d update failures at DEBUG, want every one:\n%s", n, lc.dump())
	}
}

// Error texts are Go-spelled: no Python names, no doubled package prefix.
func TestErrorTexts_GoSpelling(t *testing.T) {
	c, _ := newTestClient(t, "http://heksher.invalid", []string{"a"})
	mustNil(t, c.TrackContexts(map[string][]string{"a": {"x"}}))
	err := c.TrackContexts(map[string][]string{"a": {TrackAll}})
	if !errors.Is(err, ErrInvalidTracking) || strings.Contains(err.Error(), "TRACK_ALL") || !strings.Contains(err.Error(), "TrackAll") {
		t.Fatalf("TrackContexts = %v, want ErrInvalidTracking spelled TrackAll", err)
	}
	// Every error of these calls says "heksher:" once.
	_, e1 := NewSetting("a", Type[int64]{err: invalid("x")}, nil, int64(1))
	_, e2 := NewSetting("b", Enum(EnumMember[string]{Value: "x", Wire: "x"}), nil, "y")
	_, e3 := NewSetting("c", Int(), nil, int64(1), WithVersion("3"))
	mustNil(t, c.SetDefaults(map[string]Default{"a": Static("x")}))
	e4 := c.SetDefaults(map[string]Default{"a": Static("y")})
	e5 := c.TrackContexts(map[string][]string{"b": {}})
	for i, e := range []error{err, e1, e2, e3, e4, e5} {
		if e == nil || strings.Count(e.Error(), "heksher:") != 1 {
			t.Errorf("error %d = %v, want one that says heksher: once", i, e)
		}
	}
	de := &DeclarationError{Setting: "s", Err: &HTTPError{Method: "POST", URL: "http://h/api/v1/settings/declare", StatusCode: 404, Body: []byte("no")}}
	if got, want := de.Error(), "heksher: declaring s: POST http://h/api/v1/settings/declare: status 404: no"; got != want {
		t.Fatalf("DeclarationError = %q, want %q", got, want)
	}
}
