package heksher

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/internal/wire"
)

// The declarations a degraded client has not made yet (queued, in flight,
// or awaiting a retry) block a switch of the main client like B56's queued
// ones; the error names them and says which wait for a retry.

// degradedSwitchSetup makes a degraded main client whose declaration of
// cache_size failed because the service was down, then brings the service
// back. c1 keeps retrying until it is closed.
func degradedSwitchSetup(t *testing.T) (srv *hekshertest.Server, c1 *Client, lc1 *logCapture, s *Setting[int64]) {
	t.Helper()
	freshMain(t)
	srv = realServer(t)
	srv.Stop()
	s = mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 50)
	c1, lc1 = newTestClient(t, srv.URL, []string{"a", "b", "c", "z"},
		WithDegradedStart(Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond}))
	mustNil(t, c1.SetAsMain(ctxT(t)))
	if st := c1.Status(); st.RetryingDeclarations != 1 || st.Tracked != 0 {
		t.Fatalf("after a degraded start with the service down: %+v", st)
	}
	return srv, c1, lc1, s
}

// wantUnprocessedRefusal checks that c2's SetAsMain was refused for the
// settings in pending, awaiting a retry, without a request or a change of
// the slot's occupant prev.
func wantUnprocessedRefusal(t *testing.T, err error, prev, c2 *Client, requests int, pending ...string) {
	t.Helper()
	var mse *MainSwitchError
	if !errors.Is(err, ErrMainSwitch) || !errors.As(err, &mse) {
		t.Fatalf("SetAsMain = %v, want a *MainSwitchError", err)
	}
	if !strings.Contains(mse.Reason, "unprocessed declarations, it was closed before the service accepted them (awaiting a retry: ") ||
		!slices.Equal(mse.Pending, pending) {
		t.Fatalf("reason %q, pending %q; want declarations awaiting a retry: %q", mse.Reason, mse.Pending, pending)
	}
	for _, name := range pending {
		if !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Fatalf("error %q does not name %q", err, name)
		}
	}
	if MainClient() != prev || c2.Status().Running || requests != 0 {
		t.Fatalf("after the refusal: main %p (previous %p), running %v, %d requests", MainClient(), prev, c2.Status().Running, requests)
	}
}

// A degraded main client closed while a declaration awaits its retry keeps
// the setting; the next client's switch is refused and names it. Kept open
// until the service accepts the declaration, the same client hands the
// setting over and the new main client serves the service's values.
func TestReal_DegradedSwitchMain_RetryingDeclarations(t *testing.T) {
	t.Run("closed while awaiting a retry", func(t *testing.T) {
		srv, c1, lc1, s := degradedSwitchSetup(t)
		mustNil(t, c1.Close())
		if lc1.count(slog.LevelWarn, "awaiting a retry") != 1 {
			t.Fatalf("Close says nothing of the undeclared setting:\n%s", lc1.dump())
		}
		mustNil(t, srv.Start())
		srv.ResetRequests()
		c2, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
		err := c2.SetAsMain(ctxT(t))
		wantUnprocessedRefusal(t, err, c1, c2, len(srv.Requests()), "cache_size")
		// Not lost: the closed client still holds it, and it still resolves.
		if st := c1.Status(); st.RetryingDeclarations != 1 {
			t.Fatalf("the closed client dropped the setting: %+v", st)
		}
		if got := mustGet(t, s, map[string]string{"b": "0", "c": ""}); got != 50 {
			t.Fatalf("Get = %d, want the default 50", got)
		}
	})
	t.Run("kept open until declared", func(t *testing.T) {
		srv, c1, lc1, s := degradedSwitchSetup(t)
		mustNil(t, srv.Start())
		waitUntil(t, "the declaration retry", func() bool { return slices.Equal(c1.Tracked(), []string{"cache_size"}) })
		mustNil(t, c1.Close())
		if lc1.has(slog.LevelWarn, "awaiting a retry") {
			t.Fatalf("Close warns with nothing awaiting a retry:\n%s", lc1.dump())
		}
		c2, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
		mustNil(t, c2.TrackContexts(map[string][]string{"b": {"0"}}))
		mustNil(t, c2.SetAsMain(ctxT(t)))
		if got := c2.Tracked(); !slices.Equal(got, []string{"cache_size"}) {
			t.Fatalf("tracked by the new main client = %v", got)
		}
		_, err := srv.AddRule("cache_size", map[string]string{"b": "0"}, 100)
		mustNil(t, err)
		mustNil(t, c2.Reload(ctxT(t)))
		if got := mustGet(t, s, map[string]string{"b": "0", "c": ""}); got != 100 {
			t.Fatalf("Get = %d, want the service's 100", got)
		}
	})
}

// A declaration that Close cuts short (the service never answers it) was
// never processed: a degraded client keeps it for a retry, so the switch
// is refused instead of the setting being dropped.
func TestReal_DegradedSwitchMain_DeclarationCutByClose(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	c1, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"}, WithDegradedStart(Backoff{}))
	mustNil(t, c1.SetAsMain(ctxT(t)))
	declaring := make(chan struct{}, 1)
	srv.Intercept(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.URL.Path != "/"+wire.PathDeclare {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case declaring <- struct{}{}:
		default:
		}
		<-r.Context().Done() // never answers: only the client's Close ends it
	})
	mustSetting(t, "hung", Int(), []string{"a"}, 1)
	select {
	case <-declaring:
	case <-ctxT(t).Done():
		t.Fatal("the declaration never reached the service")
	}
	mustNil(t, c1.Close())
	srv.Intercept(nil)
	srv.ResetRequests()
	c2, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	err := c2.SetAsMain(ctxT(t))
	wantUnprocessedRefusal(t, err, c1, c2, len(srv.Requests()), "hung")
}

// unprocessedLocked sorts the undeclared settings into queued and awaiting
// a retry whatever the retry timer did, and the switch refusal says so:
// B56's text when something is queued, otherwise why nothing will declare
// them or what to wait for.
func TestClient_UnprocessedDeclarations(t *testing.T) {
	freshMain(t)
	h := map[string]settingHandle{}
	for _, name := range []string{"a", "b", "c", "d"} {
		h[name] = mustSetting(t, name, Int(), nil, 1)
	}
	tests := []struct {
		name         string
		closed       bool
		inFlight     string
		queue        []string
		retrying     []string
		wantQueued   []string
		wantRetrying []string
		wantReason   string
	}{
		{name: "nothing"},
		{name: "queued (B56)", queue: []string{"b", "a"}, wantQueued: []string{"b", "a"},
			wantReason: `unprocessed declarations, did you forget to close it? (queued: "b", "a")`},
		{name: "awaiting a retry", retrying: []string{"b", "a"}, wantRetrying: []string{"a", "b"},
			wantReason: `unprocessed declarations, wait until the service accepts them (awaiting a retry: "a", "b")`},
		{name: "awaiting a retry, closed", closed: true, retrying: []string{"b"}, wantRetrying: []string{"b"},
			wantReason: `unprocessed declarations, it was closed before the service accepted them (awaiting a retry: "b")`},
		{name: "retry back in the queue", queue: []string{"a"}, retrying: []string{"a"}, wantRetrying: []string{"a"},
			wantReason: `(awaiting a retry: "a")`},
		{name: "in flight", inFlight: "c", queue: []string{"a"}, wantQueued: []string{"c", "a"},
			wantReason: `(queued: "c", "a")`},
		{name: "mixed", inFlight: "d", queue: []string{"a", "b"}, retrying: []string{"d", "b", "c"},
			wantQueued: []string{"a"}, wantRetrying: []string{"b", "c", "d"},
			wantReason: `forget to close it? (queued: "a"; awaiting a retry: "b", "c", "d")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newTestClient(t, deadURL(t), nil)
			c.mu.Lock()
			if tc.inFlight != "" {
				c.inFlight, c.declBusy = h[tc.inFlight], true
			}
			for _, n := range tc.queue {
				c.queue = append(c.queue, h[n])
			}
			for _, n := range tc.retrying {
				c.retrying[h[n]] = struct{}{}
			}
			queued, retrying := c.unprocessedLocked()
			c.mu.Unlock()
			if !slices.Equal(queued, tc.wantQueued) || !slices.Equal(retrying, tc.wantRetrying) {
				t.Fatalf("unprocessed = %q, %q; want %q, %q", queued, retrying, tc.wantQueued, tc.wantRetrying)
			}
			if tc.wantReason == "" {
				return
			}
			if tc.closed {
				mustNil(t, c.Close())
			}
			installMain(c)
			c2, _ := newTestClient(t, deadURL(t), nil)
			err := c2.SetAsMain(ctxT(t))
			var mse *MainSwitchError
			if !errors.Is(err, ErrMainSwitch) || !errors.As(err, &mse) || !strings.Contains(mse.Reason, tc.wantReason) ||
				!slices.Equal(mse.Pending, slices.Concat(tc.wantQueued, tc.wantRetrying)) || MainClient() != c {
				t.Fatalf("SetAsMain = %v (pending %q); want a refusal with %q", err, mse.Pending, tc.wantReason)
			}
		})
	}
}
