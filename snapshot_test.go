package heksher

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/hekshertest"
)

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A degraded start returns after the first attempt with the service down,
// serves defaults, and once the service is back on the same address it
// declares the failed setting and updates, without any call.
func TestDegradedStart_RetriesDeclarationsAndUpdates(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	mustNil(t, srv.Declare(hekshertest.Setting{Name: "cache_size", Type: "int", Default: 50, ConfigurableFeatures: []string{"b", "c"},
		Rules: []hekshertest.Rule{{Conditions: map[string]string{"b": "0"}, Value: 100}}}))
	srv.Stop()
	s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 50)
	c, lc := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"},
		WithDegradedStart(Backoff{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond}))
	mustNil(t, c.TrackContexts(map[string][]string{"b": {"0"}}))
	mustNil(t, c.SetAsMain(ctxT(t)))
	st := c.Status()
	if !st.Running || st.LastResult != ResultError || st.Origin != OriginDefaults || st.RetryingDeclarations != 1 || st.Tracked != 0 {
		t.Fatalf("status = %+v", st)
	}
	if !lc.has(slog.LevelDebug, "^setting declaration failed$") || lc.countAtLeast(slog.LevelWarn) != 1 {
		t.Fatalf("want the outage logged once, the declaration failure at DEBUG:\n%s", lc.dump())
	}
	if got := mustGet(t, s, map[string]string{"b": "0", "c": ""}); got != 50 {
		t.Fatalf("Get = %d", got)
	}
	mustNil(t, srv.Start())
	waitUntil(t, "the declaration retry", func() bool { return slices.Equal(c.Tracked(), []string{"cache_size"}) })
	waitUntil(t, "an update retry", func() bool { return mustGet(t, s, map[string]string{"b": "0", "c": ""}) == 100 })
	waitUntil(t, "the status to follow", func() bool {
		st := c.Status()
		return st.Origin == OriginService && st.RetryingDeclarations == 0 && st.ConsecutiveFailures == 0
	})
	if n := lc.count(slog.LevelInfo, "^heksher: the service answers again$"); n != 1 {
		t.Fatalf("the end of the outage logged %d times, want once:\n%s", n, lc.dump())
	}
}

// The last good answer is saved atomically and a new client loads it at a
// degraded start when the service is gone.
func TestSnapshot_SavedAndLoadedByANewClient(t *testing.T) {
	freshMain(t)
	path := filepath.Join(t.TempDir(), "heksher.snapshot")
	srv := realServer(t)
	mustNil(t, srv.Declare(hekshertest.Setting{Name: "cache_size", Type: "int", Default: 70, ConfigurableFeatures: []string{"b", "c"},
		Rules: []hekshertest.Rule{{Conditions: map[string]string{"b": "0"}, Value: 100}}}))
	mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 70)
	c1, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"}, WithSnapshotFile(path))
	mustNil(t, c1.TrackContexts(map[string][]string{"b": {"0"}}))
	mustNil(t, c1.SetAsMain(ctxT(t)))
	data, err := os.ReadFile(path)
	mustNil(t, err)
	var snap snapshotFile
	mustNil(t, json.Unmarshal(data, &snap))
	if snap.ETag != c1.Status().ETag || snap.Version != 1 || !json.Valid(snap.Answer) {
		t.Fatalf("snapshot = %+v", snap)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	mustNil(t, c1.Close())
	url := srv.URL
	srv.Close() // the service is gone for good

	freshMain(t)
	s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 1)
	h := newRecHook()
	c2, lc := newTestClient(t, url, []string{"a", "b", "c", "z"}, WithSnapshotFile(path),
		WithDegradedStart(Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond}), WithHooks(h))
	mustNil(t, c2.TrackContexts(map[string][]string{"b": {"0"}}))
	mustNil(t, c2.SetAsMain(ctxT(t)))
	if st := c2.Status(); st.Origin != OriginSnapshot || st.LastResult != ResultError || !st.SnapshotSaved.Equal(snap.Saved) {
		t.Fatalf("status = %+v\n%s", st, lc.dump())
	}
	if got := mustGet(t, s, map[string]string{"b": "0", "c": ""}); got != 100 {
		t.Fatalf("Get(b=0) = %d, want the saved rule 100", got)
	}
	if got := mustGet(t, s, map[string]string{"b": "1", "c": ""}); got != 70 {
		t.Fatalf("Get(b=1) = %d, want the saved server default 70", got)
	}
	ch := h.waitKind(t, event.KindSettingChanged, 1)[0].(*event.SettingChanged)
	if ch.Setting != "cache_size" || ch.Old.Retrieved || len(ch.New.Rules) != 1 {
		t.Fatalf("change = %+v", ch)
	}
}

// A corrupt snapshot is reported and the defaults are served.
func TestSnapshot_Corrupt(t *testing.T) {
	freshMain(t)
	path := filepath.Join(t.TempDir(), "snap")
	mustNil(t, os.WriteFile(path, []byte("{not json"), 0o600))
	s := mustSetting(t, "x", Int(), []string{"a"}, 3)
	c, lc := newTestClient(t, deadURL(t), []string{"a"}, WithSnapshotFile(path), WithDegradedStart(Backoff{}))
	mustNil(t, c.SetAsMain(ctxT(t)))
	if !lc.has(slog.LevelWarn, "loading the snapshot failed") {
		t.Fatalf("no warning:\n%s", lc.dump())
	}
	if got := mustGet(t, s, map[string]string{"a": ""}); got != 3 || c.Status().Origin != OriginDefaults {
		t.Fatalf("Get = %d, origin %s", got, c.Status().Origin)
	}
}

// A degraded start whose context ends while the service hangs returns nil at
// once, serving the snapshot; when the service answers, its values replace
// the snapshot's.
func TestDegradedStart_ContextEndsWhileServiceHangs(t *testing.T) {
	freshMain(t)
	path := filepath.Join(t.TempDir(), "snap")
	srv := realServer(t)
	mustNil(t, srv.Declare(hekshertest.Setting{Name: "cache_size", Type: "int", Default: 70, ConfigurableFeatures: []string{"b", "c"},
		Rules: []hekshertest.Rule{{Conditions: map[string]string{"b": "0"}, Value: 100}}}))
	mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 70)
	c1, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"}, WithSnapshotFile(path))
	mustNil(t, c1.TrackContexts(map[string][]string{"b": {"0"}}))
	mustNil(t, c1.SetAsMain(ctxT(t)))
	mustNil(t, c1.Close())
	_, err := srv.AddRule("cache_size", map[string]string{"b": "1"}, 111)
	mustNil(t, err)

	hang := make(chan struct{})
	srv.Intercept(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		}
		next.ServeHTTP(w, r)
	})
	freshMain(t)
	s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 1)
	c2, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"}, WithSnapshotFile(path),
		WithDegradedStart(Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond}))
	mustNil(t, c2.TrackContexts(map[string][]string{"b": {"0", "1"}}))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	mustNil(t, c2.SetAsMain(ctx))
	if st := c2.Status(); st.Origin != OriginSnapshot || !st.Running {
		t.Fatalf("status = %+v", st)
	}
	if got := mustGet(t, s, map[string]string{"b": "0", "c": ""}); got != 100 {
		t.Fatalf("Get(b=0) = %d, want the snapshot's 100", got)
	}
	close(hang)
	srv.Intercept(nil)
	waitUntil(t, "the service's answer", func() bool { return mustGet(t, s, map[string]string{"b": "1", "c": ""}) == 111 })
	waitUntil(t, "the status to follow", func() bool { return c2.Status().Origin == OriginService })
}

// Start runs a client without the main slot: only settings bound to it are
// declared and updated.
func TestClient_StartWithoutMainSlot(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	mustNil(t, srv.Declare(hekshertest.Setting{Name: "bound", Type: "int", Default: 5, ConfigurableFeatures: []string{"a"}}))
	c, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	bound := mustSetting(t, "bound", Int(), []string{"a"}, 1, WithClient(c))
	mustSetting(t, "unbound", Int(), []string{"a"}, 1)
	mustNil(t, c.Start(ctxT(t)))
	if MainClient() != nil {
		t.Fatal("Start took the main slot")
	}
	if got := c.Tracked(); !slices.Equal(got, []string{"bound"}) {
		t.Fatalf("tracked = %v", got)
	}
	if got := mustGet(t, bound, map[string]string{"a": ""}); got != 5 {
		t.Fatalf("bound = %d", got)
	}
	if err := c.SetAsMain(ctxT(t)); !errors.Is(err, ErrAlreadyMain) {
		t.Fatalf("SetAsMain after Start = %v", err)
	}
}
