package heksher

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/internal/wire"
)

// splitName is the name of the i-th setting of these tests.
func splitName(i int) string { return fmt.Sprintf("s_%06d", i) }

// seededServer is a compatible server holding n int settings on "user",
// every one with the rule user=a → i.
func seededServer(t *testing.T, n int) *hekshertest.Server {
	t.Helper()
	settings := make([]hekshertest.Setting, n)
	for i := range settings {
		settings[i] = hekshertest.Setting{Name: splitName(i), Type: "int", Default: 0, ConfigurableFeatures: []string{"user"},
			Rules: []hekshertest.Rule{{Conditions: map[string]string{"user": "a"}, Value: i}}}
	}
	return hekshertest.NewServer(t, hekshertest.WithContextFeatures("user"), hekshertest.WithSettings(settings...))
}

// trackingClient is a main client tracking n settings the server already
// knows (their declarations skipped: they would only say "up to date"), with
// its update loop not started: the test runs each attempt itself.
func trackingClient(t *testing.T, srv *hekshertest.Server, n int, opts ...Option) (*Client, []*Setting[int64]) {
	t.Helper()
	ResetMainForTesting()
	t.Cleanup(ResetMainForTesting)
	settings := make([]*Setting[int64], n)
	for i := range settings {
		settings[i] = mustSetting(t, splitName(i), Int(), []string{"user"}, int64(-1))
	}
	c, _ := newTestClient(t, srv.URL, []string{"user"}, opts...)
	if err := c.TrackContexts(map[string][]string{"user": {TrackAll}}); err != nil {
		t.Fatal(err)
	}
	if err := c.takeMain(); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	for _, s := range c.queue {
		c.tracked[s.settingName()] = s
	}
	c.queue = nil
	c.mu.Unlock()
	return c, settings
}

// queries returns the update queries the server received since the last
// call.
func queries(srv *hekshertest.Server) []hekshertest.Request {
	var out []hekshertest.Request
	for _, r := range srv.Requests() {
		if r.Path == "/"+wire.PathQuery {
			out = append(out, r)
		}
	}
	srv.ResetRequests()
	return out
}

// TestUpdate_SplitQueries checks an update split into queries by a small
// URL limit: every query fits, together they name each setting once, each
// carries its own ETag, a change is fetched by its query alone, and a
// query that fails fails the whole update without applying the others.
func TestUpdate_SplitQueries(t *testing.T) {
	const n, limit = 300, 1024
	srv := seededServer(t, n)
	c, settings := trackingClient(t, srv, n, WithMaxQueryURL(limit))
	ctx := ctxT(t)
	if err := c.attempt(ctx); err != nil {
		t.Fatal(err)
	}
	first := queries(srv)
	if len(first) < 2 {
		t.Fatalf("%d queries for %d settings under a %d-byte URL limit, want several", len(first), n, limit)
	}
	named := map[string]int{}
	for _, q := range first {
		if l := len(srv.URL + q.Path + "?" + q.RawQuery); l > limit {
			t.Errorf("query URL of %d bytes, limit %d", l, limit)
		}
		if q.Header.Get("If-None-Match") != "" {
			t.Errorf("first update sent If-None-Match %q", q.Header.Get("If-None-Match"))
		}
		for _, name := range strings.Split(q.Query.Get("settings"), ",") {
			named[name]++
		}
	}
	for i := range n {
		if named[splitName(i)] != 1 {
			t.Fatalf("%s named %d times, want once", splitName(i), named[splitName(i)])
		}
		if got := mustGet(t, settings[i], map[string]string{"user": "a"}); got != int64(i) {
			t.Fatalf("%s = %d, want %d", splitName(i), got, i)
		}
	}

	// Nothing changed: every query answers 304 to its own ETag.
	if err := c.attempt(ctx); err != nil {
		t.Fatal(err)
	}
	if st := c.Status(); st.LastResult != ResultNotModified {
		t.Fatalf("second update: %v, want not modified", st.LastResult)
	}
	tags := map[string]bool{}
	for _, q := range queries(srv) {
		tag := q.Header.Get("If-None-Match")
		if tag == "" || tags[tag] {
			t.Fatalf("second update: If-None-Match %q empty or repeated across queries", tag)
		}
		tags[tag] = true
	}

	// A change in the last query's range and one in the first's: a query
	// that fails (the last) applies nothing, not even the first's answer.
	mustRule := func(setting string, value int) {
		t.Helper()
		if _, err := srv.AddRule(setting, map[string]string{"user": "b"}, value); err != nil {
			t.Fatal(err)
		}
	}
	mustRule(splitName(0), 1000)
	mustRule(splitName(n-1), 2000)
	srv.EnqueueFault(hekshertest.Fault{Status: http.StatusInternalServerError, Body: "down",
		Match: func(r *http.Request) bool { return strings.Contains(r.URL.RawQuery, splitName(n-1)) }})
	if err := c.attempt(ctx); err == nil {
		t.Fatal("an update whose last query failed succeeded")
	}
	if got := mustGet(t, settings[0], map[string]string{"user": "b"}); got != 0 {
		t.Fatalf("after a failed update %s = %d: half of the update was applied", splitName(0), got)
	}
	queries(srv)
	if err := c.attempt(ctx); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, settings[0], map[string]string{"user": "b"}); got != 1000 {
		t.Fatalf("%s = %d, want 1000", splitName(0), got)
	}
	if got := mustGet(t, settings[n-1], map[string]string{"user": "b"}); got != 2000 {
		t.Fatalf("%s = %d, want 2000", splitName(n-1), got)
	}
	if st := c.Status(); st.LastResult != ResultOK || strings.Count(st.ETag, ",") != len(first)-1 {
		t.Fatalf("status after the change: %v, ETag %q, want OK and %d ETags", st.LastResult, st.ETag, len(first))
	}
}

// TestUpdate_BeyondServerHeaderLimit tracks more settings than one query
// URL the compatible server accepts can name (it answers 431 past its
// header limit): with the default limit, the client still updates.
func TestUpdate_BeyondServerHeaderLimit(t *testing.T) {
	n := 8000 // 8000 names of 8 bytes, joined by %2C: about 88 KB
	if !testing.Short() {
		n = 70_000
	}
	srv := seededServer(t, n)
	c, settings := trackingClient(t, srv, n)
	if err := c.attempt(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if q := queries(srv); len(q) < 2 {
		t.Fatalf("%d settings fit one query", n)
	}
	for i := 0; i < n; i += n / 100 {
		if got := mustGet(t, settings[i], map[string]string{"user": "a"}); got != int64(i) {
			t.Fatalf("%s = %d, want %d", splitName(i), got, i)
		}
	}
	if got := mustGet(t, settings[n-1], map[string]string{"user": "a"}); got != int64(n-1) {
		t.Fatalf("%s = %d, want %d", splitName(n-1), got, n-1)
	}
}

// TestUpdate_SplitQueriesSnapshot checks that the snapshot of a split
// update holds every query's answer, also after an update in which only
// one query's answer changed (the others answered 304).
func TestUpdate_SplitQueriesSnapshot(t *testing.T) {
	const n = 300
	srv := seededServer(t, n)
	path := filepath.Join(t.TempDir(), "snapshot.json")
	c, _ := trackingClient(t, srv, n, WithMaxQueryURL(1024), WithSnapshotFile(path))
	ctx := ctxT(t)
	if err := c.attempt(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddRule(splitName(n-1), map[string]string{"user": "b"}, 77); err != nil {
		t.Fatal(err)
	}
	if err := c.attempt(ctx); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var snap snapshotFile
	if err := json.Unmarshal(raw, &snap); err != nil {
		t.Fatal(err)
	}
	q, err := wire.DecodeQuery(snap.Answer)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Settings) != n {
		t.Fatalf("snapshot holds %d settings, want %d", len(q.Settings), n)
	}
	last := q.Settings[n-1]
	if last.Name != splitName(n-1) || len(last.Rules) != 2 {
		t.Fatalf("snapshot's last setting %s has %d rules, want %s with 2", last.Name, len(last.Rules), splitName(n-1))
	}
	if got := c.Status().ETag; snap.ETag != got {
		t.Fatalf("snapshot ETag %q, status %q", snap.ETag, got)
	}
}

// TestUpdate_SplitAnswersBounded checks that the answers of one split
// update are bounded together, as one answer is: a server whose answers
// pass the bound fails the update, and nothing is applied.
func TestUpdate_SplitAnswersBounded(t *testing.T) {
	const n = 300
	srv := seededServer(t, n)
	c, settings := trackingClient(t, srv, n, WithMaxQueryURL(1024))
	prev := maxUpdateBody
	maxUpdateBody = 4 << 10 // each answer fits, the update's answers do not
	t.Cleanup(func() { maxUpdateBody = prev })
	err := c.attempt(ctxT(t))
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("update with %d settings of answers over %d bytes: %v, want a *DecodeError", n, maxUpdateBody, err)
	}
	if got := mustGet(t, settings[0], map[string]string{"user": "a"}); got != -1 {
		t.Fatalf("%s = %d after the refused update, want the client default -1", splitName(0), got)
	}
	maxUpdateBody = prev
	if err := c.attempt(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, settings[n-1], map[string]string{"user": "a"}); got != n-1 {
		t.Fatalf("%s = %d, want %d", splitName(n-1), got, n-1)
	}
}
