package heksher

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/internal/wire"
	"github.com/heksher-go/heksher/relay"
)

func TestParseNotSettingNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want []string
	}{
		{name: "one", body: "the following are not setting names: ['b']", want: []string{"b"}},
		{name: "two", body: "the following are not setting names: ['a.x', 'b_2']", want: []string{"a.x", "b_2"}},
		{name: "empty list", body: "the following are not setting names: []"},
		{name: "no list", body: "the following are not setting names: "},
		{name: "other text", body: "not found"},
		{name: "json", body: `{"detail": "the following are not setting names: ['b']"}`},
		{name: "trailing newline", body: "the following are not setting names: ['b']\n"},
		{name: "double quotes", body: `the following are not setting names: ["b"]`},
		{name: "no space", body: "the following are not setting names: ['a','b']"},
		{name: "empty name", body: "the following are not setting names: ['']"},
		{name: "quote inside", body: "the following are not setting names: ['a', 'b'c']"},
		{name: "unclosed", body: "the following are not setting names: ['a'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseNotSettingNames([]byte(tc.body))
			if ok != (tc.want != nil) || !slices.Equal(got, tc.want) {
				t.Fatalf("parse(%q) = %q, %v; want %q", tc.body, got, ok, tc.want)
			}
		})
	}
	// A name the query did not send is a plain failure.
	err := &HTTPError{StatusCode: 404, Body: []byte("the following are not setting names: ['c']")}
	if got := notSettingNames(err, []string{"a", "b"}); got != nil {
		t.Fatalf("a name not sent: %q, want nil", got)
	}
}

// missingServer holds the int settings a and b, each with a rule for
// user=u.
func missingServer(t *testing.T, opts ...hekshertest.Option) *hekshertest.Server {
	t.Helper()
	srv := hekshertest.NewServer(t, append([]hekshertest.Option{hekshertest.WithContextFeatures("user"),
		hekshertest.WithSettings(
			hekshertest.Setting{Name: "a", Type: "int", Default: 1, ConfigurableFeatures: []string{"user"}},
			hekshertest.Setting{Name: "b", Type: "int", Default: 1, ConfigurableFeatures: []string{"user"}})},
		opts...)...)
	for _, n := range []string{"a", "b"} {
		if _, err := srv.AddRule(n, map[string]string{"user": "u"}, 10); err != nil {
			t.Fatal(err)
		}
	}
	return srv
}

// A setting deleted on the service leaves the query; the other settings
// keep updating, the deleted one keeps its last value, and Status, the log
// and one UpdateError say so once. Before, every later query was answered
// 404 and a's change never came.
func TestMissing_DeletedSettingDoesNotFreezeTheOthers(t *testing.T) {
	for _, tc := range []struct {
		name string
		srv  []hekshertest.Option
		opts []Option
	}{
		{name: "watch"},
		{name: "polling", srv: []hekshertest.Option{hekshertest.WithoutWatch()}},
		{name: "split", opts: []Option{WithoutWatch(), WithMaxQueryURL(len("http://127.0.0.1:65535/api/v1/query?context_filters=user%3A%2A&include_metadata=false&settings=a"))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := missingServer(t, tc.srv...)
			testMissing(t, srv.URL, srv, tc.opts...)
		})
	}
}

func testMissing(t *testing.T, url string, srv *hekshertest.Server, opts ...Option) {
	freshMain(t)
	a := mustSetting(t, "a", Int(), []string{"user"}, int64(0))
	b := mustSetting(t, "b", Int(), []string{"user"}, int64(0))
	h := newRecHook()
	lc, log := newLogCapture()
	c, err := NewClient(url, 20*time.Millisecond, []string{"user"}, append([]Option{WithLogger(log), WithHooks(h)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.TrackContexts(map[string][]string{"user": {TrackAll}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	u := map[string]string{"user": "u"}
	if got := mustGet(t, a, u) + mustGet(t, b, u); got != 20 {
		t.Fatalf("a+b = %d, want 20", got)
	}
	if err := srv.DeleteSetting("b"); err != nil {
		t.Fatal(err)
	}
	id, err := srv.AddRule("a", map[string]string{"user": "v"}, 7)
	if err != nil {
		t.Fatal(err)
	}
	v := map[string]string{"user": "v"}
	waitFor(t, "a's new rule", func() bool { return mustGet(t, a, v) == 7 })
	if got := c.Status().Missing; !slices.Equal(got, []string{"b"}) {
		t.Fatalf("Status().Missing = %q, want [b]", got)
	}
	if got := mustGet(t, b, u); got != 10 {
		t.Fatalf("b = %d, want its last value 10", got)
	}
	// Later changes keep coming.
	if err := srv.SetRuleValue(id, 8); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a's changed rule", func() bool { return mustGet(t, a, v) == 8 })
	if err := c.Reload(ctxT(t)); err != nil {
		t.Fatalf("Reload with b missing: %v", err)
	}
	var missing int
	for _, e := range h.events() {
		if ue, ok := e.(*event.UpdateError); ok {
			var me *MissingSettingsError
			if !errors.As(ue.Err, &me) || !slices.Equal(me.Settings, []string{"b"}) {
				t.Fatalf("UpdateError %v, want a *MissingSettingsError for b", ue.Err)
			}
			missing++
		}
	}
	if missing != 1 {
		t.Fatalf("%d UpdateError events, want 1", missing)
	}
	if n := lc.count(slog.LevelWarn, "does not know this setting"); n != 1 {
		t.Fatalf("%d warnings, want 1", n)
	}

	// Declared again: the service has it again, and it rejoins the query.
	b2 := mustSetting(t, "b", Int(), []string{"user"}, int64(0))
	waitFor(t, "b declared again", func() bool { return len(c.Status().Missing) == 0 })
	if _, err := srv.AddRule("b", map[string]string{"user": "v"}, 3); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b's new rule", func() bool { return mustGet(t, b2, v) == 3 })
}

// A client behind a relay whose upstream deleted a setting recovers the
// same way: the relay answers 404 for the name too.
func TestMissing_BehindRelay(t *testing.T) {
	up := missingServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := relay.New(ctx, relay.Options{Upstream: up.URL, Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Close(ctx)
	})
	if err := r.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	rs, err := r.Listen(ctx, relay.ListenOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rs.Close(ctx)
	})
	testMissing(t, rs.URL(), up)
}

// A hostile server that answers 404 naming one more tracked setting each
// time costs one retry per update, never a loop.
func TestMissing_HostileServerDoesNotSpin(t *testing.T) {
	var queries atomic.Int64
	var hostile atomic.Bool
	names := []string{"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"}
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user"))
	srv.Intercept(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.URL.Path != "/"+wire.PathQuery || !hostile.Load() {
			next.ServeHTTP(w, r)
			return
		}
		queries.Add(1)
		sent := strings.Split(r.URL.Query().Get("settings"), ",")
		if sent[0] == "" {
			next.ServeHTTP(w, r)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("the following are not setting names: ['" + sent[0] + "']"))
	})
	freshMain(t)
	for _, n := range names {
		mustSetting(t, n, Int(), []string{"user"}, int64(0))
	}
	c, _ := newTestClient(t, srv.URL, []string{"user"}, WithoutWatch())
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	hostile.Store(true)
	if err := c.Reload(ctxT(t)); err == nil {
		t.Fatal("Reload succeeded, want the retry's 404")
	}
	if got := queries.Load(); got != 2 {
		t.Fatalf("%d queries for one update, want 2 (one retry)", got)
	}
	if got := c.Status().Missing; !slices.Equal(got, []string{"s0", "s1"}) {
		t.Fatalf("Missing = %q, want [s0 s1]", got)
	}
	_ = c.Reload(ctxT(t))
	if got := queries.Load(); got != 4 {
		t.Fatalf("%d queries after a second update, want 4", got)
	}
}

// A setting tracked by name (not declared) that the service deleted rejoins
// the query when Track finds it on the service again.
func TestMissing_TrackedByNameRejoins(t *testing.T) {
	srv := missingServer(t, hekshertest.WithoutWatch())
	freshMain(t)
	c, _ := newTestClient(t, srv.URL, []string{"user"})
	if err := c.TrackContexts(map[string][]string{"user": {TrackAll}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Track(ctxT(t), "b", ""); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := srv.DeleteSetting("b"); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(ctxT(t)); err != nil {
		t.Fatalf("Reload after the deletion: %v", err)
	}
	if got := c.Status().Missing; !slices.Equal(got, []string{"b"}) {
		t.Fatalf("Missing = %q, want [b]", got)
	}
	if _, err := c.Track(ctxT(t), "b", ""); err == nil {
		t.Fatal("Track of a deleted setting succeeded")
	}
	if err := srv.Declare(hekshertest.Setting{Name: "b", Type: "int", Default: 1, ConfigurableFeatures: []string{"user"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddRule("b", map[string]string{"user": "v"}, 4); err != nil {
		t.Fatal(err)
	}
	b, err := c.Track(ctxT(t), "b", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Status().Missing; len(got) != 0 {
		t.Fatalf("Missing = %q after Track found b again", got)
	}
	if err := c.Reload(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	r, err := b.LookupJSON(context.Background(), map[string]string{"user": "v"})
	if err != nil || string(r.Value) != "4" {
		t.Fatalf("b = %s, %v; want 4", r.Value, err)
	}
}

// A setting declared anew on the service by someone else (another instance
// of the application, say) rejoins the query at the next recheck, and a
// recheck while it is still missing says nothing again.
func TestMissing_RecheckedPeriodically(t *testing.T) {
	srv := missingServer(t)
	freshMain(t)
	mustSetting(t, "a", Int(), []string{"user"}, int64(0))
	b := mustSetting(t, "b", Int(), []string{"user"}, int64(0))
	h := newRecHook()
	lc, log := newLogCapture()
	c, err := NewClient(srv.URL, 20*time.Millisecond, []string{"user"}, WithLogger(log), WithHooks(h), withWatchWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	c.recheck = 30 * time.Millisecond
	if err := c.TrackContexts(map[string][]string{"user": {TrackAll}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := srv.DeleteSetting("b"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b missing", func() bool { return len(c.Status().Missing) == 1 })
	checked := func() int {
		n := 0
		for _, r := range srv.Requests() {
			if r.Path == "/"+wire.PathQuery && slices.Contains(strings.Split(r.Query.Get("settings"), ","), "b") {
				n++
			}
		}
		return n
	}
	before := checked()
	waitFor(t, "two rechecks", func() bool { return checked() >= before+2 })
	if n := lc.count(slog.LevelWarn, "does not know this setting"); n != 1 {
		t.Fatalf("%d warnings after rechecks, want 1", n)
	}
	if err := srv.Declare(hekshertest.Setting{Name: "b", Type: "int", Default: 1, ConfigurableFeatures: []string{"user"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddRule("b", map[string]string{"user": "v"}, 6); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b's rule after a recheck", func() bool { return mustGet(t, b, map[string]string{"user": "v"}) == 6 })
	if got := c.Status().Missing; len(got) != 0 {
		t.Fatalf("Missing = %q", got)
	}
}
