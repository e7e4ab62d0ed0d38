package heksher

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/heksher-go/heksher/event"
)

// B27: a setting created before any client is declared during SetAsMain,
// and its rule is served right after it returns.
func TestB27_DeclareBeforeMain(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a", "b", "c")
	f.setData("cache_size", "50", [2]string{"100", "b=0"})
	s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 50)
	c, _ := newTestClient(t, f.URL(), []string{"a", "b", "c"})
	if err := c.TrackContexts(map[string][]string{"b": {"0"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := f.declaredNames(); !slices.Equal(got, []string{"cache_size"}) {
		t.Fatalf("declared = %v", got)
	}
	if got := c.Tracked(); !slices.Equal(got, []string{"cache_size"}) {
		t.Fatalf("tracked = %v", got)
	}
	// The value comes from the one query of SetAsMain, which already named
	// the setting: no Reload, no second query.
	if qs := f.queryLog(); len(qs) != 1 || qs[0].Get("settings") != "cache_size" {
		t.Fatalf("queries = %v", qs)
	}
	if got := mustGet(t, s, map[string]string{"b": "0", "c": ""}); got != 100 {
		t.Fatalf("Get = %d, want 100", got)
	}
}

// B28: a setting created after SetAsMain is queued at once, declared in the
// background, and served after Reload.
func TestB28_DeclareAfterMain(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a", "b", "c")
	c, lc := newTestClient(t, f.URL(), []string{"a", "b", "c"})
	if err := c.TrackContexts(map[string][]string{"b": {"0"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release) // before the server's Close, even on failure
	f.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/v1/settings/declare" {
			<-gate
		}
		return false
	})
	s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 50)
	if c.PendingDeclarations() == 0 {
		t.Fatal("declaration queue empty right after creation")
	}
	release()
	if err := c.waitDeclarations(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := c.Tracked(); !slices.Equal(got, []string{"cache_size"}) {
		t.Fatalf("tracked = %v", got)
	}
	if s.retrieved() {
		t.Fatal("the setting received a rule set before any update named it")
	}
	if got := mustGet(t, s, map[string]string{"b": "", "c": ""}); got != 50 {
		t.Fatalf("Get before any data = %d, want 50", got)
	}
	if lc.count(slog.LevelInfo, "^the value of setting was never retrieved from service$") != 1 {
		t.Fatalf("want one never-retrieved INFO:\n%s", lc.dump())
	}
	f.setData("cache_size", "50", [2]string{"100", "b=0"})
	if err := c.Reload(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, map[string]string{"b": "0", "c": ""}); got != 100 {
		t.Fatalf("Get after Reload = %d, want 100", got)
	}
}

// declHook records Declared events.
type declHook struct {
	NopHook
	mu  sync.Mutex
	got []*event.Declared
}

func (h *declHook) OnDeclared(_ context.Context, e *event.Declared) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, e)
}

func (h *declHook) events() []*event.Declared {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

// Every declaration outcome (docs/CONFORMANCE.md B38–B40), with its log text and level,
// whether the setting is tracked, and the event hooks receive. Other
// settings are unaffected by a failed or odd declaration.
func TestDeclarationOutcomes(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		body        string
		version     string
		wantLevel   slog.Level
		wantLog     string // "" = no warning or error at all
		wantTracked bool
		wantOutcome string
		wantErr     bool
		// wantConflict is the reason of the conflict Status, the event and
		// the setting report; "" means none.
		wantConflict string
	}{
		{name: "created", status: 200, body: `{"outcome":"created"}`, wantTracked: true, wantOutcome: "created"},
		{name: "uptodate", status: 200, body: `{"outcome":"uptodate"}`, wantTracked: true, wantOutcome: "uptodate"},
		{name: "upgraded", status: 200, body: `{"outcome":"upgraded","previous_version":"1.0","differences":[]}`, wantTracked: true, wantOutcome: "upgraded"},
		{name: "outofdate legacy", status: 200, body: `{"outcome":"outofdate"}`, wantTracked: true, wantOutcome: "outofdate"},
		{name: "mismatch 409", status: 409, body: `{"outcome":"mismatch","differences":[{"level":"minor","attribute":"default_value","latest_value":200}]}`,
			wantLevel: slog.LevelError, wantLog: "^conflict when declaring setting$", wantTracked: true, wantOutcome: "mismatch", wantErr: true,
			wantConflict: "default_value: the service has 200"},
		{name: "rejected 409", status: 409, body: `{"outcome":"rejected","previous_version":"1.0","differences":[]}`,
			wantLevel: slog.LevelError, wantLog: "^conflict .+", wantTracked: true, wantOutcome: "rejected", wantErr: true,
			wantConflict: `{"outcome":"rejected","previous_version":"1.0","differences":[]}`},
		// The reference also warns "unexpected outcome from service" here:
		// one conflict, one line (docs/CONFORMANCE.md).
		{name: "alias conflict 409", status: 409, body: `{"detail":"alias x is an alias of unrelated setting y"}`,
			wantLevel: slog.LevelError, wantLog: "^conflict when declaring setting$", wantTracked: true, wantErr: true,
			wantConflict: "alias x is an alias of unrelated setting y"},
		{name: "unknown feature 404", status: 404, body: `{'z'} are not acceptable context features`,
			wantLevel: slog.LevelError, wantLog: "^error when declaring setting$", wantErr: true},
		// The reference also logs "setting declaration failed" after an
		// error status: one failure, one line (docs/CONFORMANCE.md).
		{name: "bad version 400", status: 400, body: `newly created settings must have version 1.0`,
			wantLevel: slog.LevelError, wantLog: "^error when declaring setting$", wantErr: true},
		{name: "invalid 422", status: 422, body: `{"detail":[]}`, wantLevel: slog.LevelError, wantLog: "^error when declaring setting$", wantErr: true},
		{name: "2xx not json", status: 200, body: `ok!`, wantLevel: slog.LevelWarn, wantLog: "^unexpected response from service$", wantErr: true},
		{name: "409 not json", status: 409, body: `conflict`, wantLevel: slog.LevelError, wantLog: "^conflict when declaring setting$", wantErr: true,
			wantConflict: "conflict"},
		{name: "unknown outcome", status: 200, body: `{"outcome":"weird"}`, wantLevel: slog.LevelWarn, wantLog: "^unexpected outcome from service$", wantTracked: true, wantOutcome: "weird"},
		{name: "outdated same major", status: 200, version: "1.0", body: `{"outcome":"outdated","latest_version":"1.5","differences":[]}`,
			wantLevel: slog.LevelInfo, wantLog: "^setting is outdated$", wantTracked: true, wantOutcome: "outdated"},
		{name: "outdated major", status: 200, version: "1.0", body: `{"outcome":"outdated","latest_version":"2.0","differences":[]}`,
			wantLevel: slog.LevelWarn, wantLog: "^setting is outdated by a major version$", wantTracked: true, wantOutcome: "outdated"},
		{name: "outdated without latest", status: 200, body: `{"outcome":"outdated","differences":[]}`,
			wantLevel: slog.LevelError, wantLog: "^outdated setting without latest version$", wantTracked: true, wantOutcome: "outdated"},
		// Two lines: the outdated warning, then the failure to read its
		// differences.
		{name: "outdated bad differences", status: 200, body: `{"outcome":"outdated","latest_version":"2.0","differences":5}`,
			wantLevel: slog.LevelError, wantLog: "^setting declaration failed$", wantErr: true, wantOutcome: "outdated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			freshMain(t)
			f := newFakeServer(t, "a")
			f.setDeclare("odd", tc.status, tc.body)
			var opts []SettingOption
			if tc.version != "" {
				opts = append(opts, WithVersion(tc.version))
			}
			mustSetting(t, "before", Int(), []string{"a"}, 1)
			mustSetting(t, "odd", Int(), []string{"a"}, 2, opts...)
			mustSetting(t, "after", Int(), []string{"a"}, 3)
			h := &declHook{}
			c, lc := newTestClient(t, f.URL(), []string{"a"}, WithHooks(h))
			if err := c.SetAsMain(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if tc.wantLog != "" && !lc.has(tc.wantLevel, tc.wantLog) {
				t.Fatalf("no %v %q in:\n%s", tc.wantLevel, tc.wantLog, lc.dump())
			}
			if tc.wantLog == "" && (lc.count(slog.LevelWarn, ".") > 0 || lc.count(slog.LevelError, ".") > 0) {
				t.Fatalf("unexpected warnings:\n%s", lc.dump())
			}
			if tc.wantLog != "" && lc.countAtLeast(slog.LevelWarn) > 1 && tc.name != "outdated bad differences" {
				t.Fatalf("one odd answer, several lines:\n%s", lc.dump())
			}
			var conflicts []string
			for _, ce := range c.Status().Conflicts {
				conflicts = append(conflicts, ce.Setting+": "+ce.Reason)
			}
			if tc.wantConflict == "" && conflicts != nil || tc.wantConflict != "" && !slices.Equal(conflicts, []string{"odd: " + tc.wantConflict}) {
				t.Fatalf("Status().Conflicts = %q, want odd: %q", conflicts, tc.wantConflict)
			}
			want := []string{"after", "before"}
			if tc.wantTracked {
				want = []string{"after", "before", "odd"}
			}
			if got := c.Tracked(); !slices.Equal(got, want) {
				t.Fatalf("tracked = %v, want %v", got, want)
			}
			if err := c.Close(); err != nil { // delivers the queued events
				t.Fatal(err)
			}
			evs := h.events()
			if len(evs) != 3 || evs[0].Setting != "before" || evs[1].Setting != "odd" || evs[2].Setting != "after" {
				t.Fatalf("declared events = %+v", evs)
			}
			e := evs[1]
			if e.Outcome != tc.wantOutcome || e.Tracked != tc.wantTracked || (e.Err != nil) != tc.wantErr {
				t.Fatalf("odd event = %+v", e)
			}
			if ce, ok := errors.AsType[*ConflictError](e.Err); ok != (tc.wantConflict != "") || ok && ce.Reason != tc.wantConflict {
				t.Fatalf("odd event error = %v, want a conflict %q", e.Err, tc.wantConflict)
			}
			if !evs[0].Tracked || !evs[2].Tracked || evs[0].Seq >= e.Seq || e.Seq >= evs[2].Seq {
				t.Fatalf("other events = %+v %+v", evs[0], evs[2])
			}
		})
	}
}

// B38 and B39: an outdated answer logs the warning and its default_value
// difference becomes the server default, served before any rule set.
func TestB38_B39_OutdatedDeclaration(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a", "b", "c")
	f.setDeclare("cache_size", 200, `{"outcome":"outdated","latest_version":"2.0","differences":[{"level":"minor","attribute":"default_value","latest_value":100},{"level":"major","attribute":"configurable_features","latest_value":["a","b","c"]}]}`)
	s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 50)
	c, lc := newTestClient(t, f.URL(), []string{"a", "b", "c"})
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	// B38: 1.0 against a latest 2.0 is a major-version warning, with the
	// versions and differences.
	w := lc.attrs(slog.LevelWarn, ".+ outdated .+")
	if len(w) != 1 || w[0]["latest_version"] != "2.0" || w[0]["version"] != "1.0" || !strings.Contains(w[0]["differences"], "default_value") {
		t.Fatalf("want one outdated warning with the versions and differences:\n%s", lc.dump())
	}
	// B39: the query did not mention the setting, so the 100 is the
	// declared server default, served without any rule set.
	if s.retrieved() {
		t.Fatal("the setting received a rule set from a query that did not mention it")
	}
	if got := mustGet(t, s, map[string]string{"b": "", "c": ""}); got != 100 {
		t.Fatalf("Get = %d, want the declared server default 100", got)
	}
	if lc.count(slog.LevelInfo, "^the value of setting was never retrieved from service$") != 1 {
		t.Fatalf("want the never-retrieved INFO of Get:\n%s", lc.dump())
	}
}

// An outdated default that the type rejects keeps the previous default and
// warns; one that is coerced warns and is used.
func TestOutdatedDefault_RejectedAndCoerced(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	f.setDeclare("rej", 200, `{"outcome":"outdated","latest_version":"1.1","differences":[{"level":"minor","attribute":"default_value","latest_value":"x"}]}`)
	f.setDeclare("co", 200, `{"outcome":"outdated","latest_version":"1.1","differences":[{"level":"minor","attribute":"default_value","latest_value":["a","zz"]}]}`)
	rej := mustSetting(t, "rej", Int(), []string{"a"}, 7)
	co := mustSetting(t, "co", Flags("a", "b"), []string{"a"}, NewFlagSet())
	c, lc := newTestClient(t, f.URL(), []string{"a"})
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if !lc.has(slog.LevelWarn, "^server default was discarded due to coercion error during declaration$") {
		t.Fatalf("no discard warning:\n%s", lc.dump())
	}
	if !lc.has(slog.LevelWarn, "^server default was coerced to local value during declaration$") {
		t.Fatalf("no coercion warning:\n%s", lc.dump())
	}
	if got := mustGet(t, rej, map[string]string{"a": ""}); got != 7 {
		t.Fatalf("rej = %d", got)
	}
	if got := mustGet(t, co, map[string]string{"a": ""}); !got.Equal(NewFlagSet("a")) {
		t.Fatalf("co = %v", got)
	}
}

// B40: an upgraded answer's differences are not applied.
func TestB40_UpgradedDeclaration(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a", "b", "c")
	f.setDeclare("cache_size", 200, `{"outcome":"upgraded","previous_version":"1.0","differences":[{"level":"minor","attribute":"default_value","latest_value":100}]}`)
	s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 50, WithVersion("1.1"))
	c, lc := newTestClient(t, f.URL(), []string{"a", "b", "c"})
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := c.Tracked(); !slices.Equal(got, []string{"cache_size"}) {
		t.Fatalf("tracked = %v", got)
	}
	if got := mustGet(t, s, map[string]string{"b": "", "c": ""}); got != 50 {
		t.Fatalf("Get = %d, want 50", got)
	}
	if n := lc.countAtLeast(slog.LevelWarn); n != 0 {
		t.Fatalf("%d warnings or errors for an upgrade:\n%s", n, lc.dump())
	}
}

// A setting declared twice under one name: the later object replaces the
// earlier one in tracking, as in heksher-py.
func TestDeclaration_LaterObjectReplaces(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	f.setData("dup", "1", [2]string{"5", "a=x"})
	first := mustSetting(t, "dup", Int(), []string{"a"}, 10)
	second := mustSetting(t, "dup", Int(), []string{"a"}, 20)
	c, _ := newTestClient(t, f.URL(), []string{"a"})
	if err := c.TrackContexts(map[string][]string{"a": {"x"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, second, map[string]string{"a": "x"}); got != 5 {
		t.Fatalf("second = %d, want 5", got)
	}
	if got := mustGet(t, first, map[string]string{"a": "x"}); got != 10 {
		t.Fatalf("first = %d, want its local default 10 (no longer tracked)", got)
	}
}

// The declaration order is the creation order, for many settings.
func TestDeclarationOrder(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	var want []string
	for i := range 50 {
		name := "s" + strconv.Itoa(i)
		mustSetting(t, name, Int(), []string{"a"}, int64(i))
		want = append(want, name)
	}
	c, _ := newTestClient(t, f.URL(), []string{"a"})
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := f.declaredNames(); !slices.Equal(got, want) {
		t.Fatalf("order = %v", got)
	}
	// B1 over HTTP: the declared body is exactly the spec's.
	f.mu.Lock()
	b, _ := f.declared[3].Marshal()
	f.mu.Unlock()
	if string(b) != `{"name":"s3","configurable_features":["a"],"type":"int","metadata":{},"alias":null,"default_value":3,"version":"1.0"}` {
		t.Fatalf("body = %s", b)
	}
}

// WithStrictDeclarations: a pending setting that cannot be declared fails
// SetAsMain with a *DeclarationError and closes the client; by default it is
// only logged.
func TestDeclaration_Strict(t *testing.T) {
	tests := []struct {
		name    string
		strict  bool
		wantErr bool
	}{
		{"default logs only", false, false},
		{"strict fails", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			freshMain(t)
			f := newFakeServer(t, "a")
			f.setDeclare("bad", 404, `{'zz'} are not acceptable context features`)
			mustSetting(t, "good", Int(), []string{"a"}, 1)
			mustSetting(t, "bad", Int(), []string{"zz"}, 1)
			var opts []Option
			if tc.strict {
				opts = append(opts, WithStrictDeclarations())
			}
			c, _ := newTestClient(t, f.URL(), []string{"a"}, opts...)
			err := c.SetAsMain(ctxT(t))
			if !tc.wantErr {
				mustNil(t, err)
				if got := c.Tracked(); !slices.Equal(got, []string{"good"}) {
					t.Fatalf("tracked = %v", got)
				}
				return
			}
			var de *DeclarationError
			var he *HTTPError
			if !errors.As(err, &de) || de.Setting != "bad" || !errors.As(err, &he) || he.StatusCode != 404 {
				t.Fatalf("SetAsMain = %v", err)
			}
			if c.Status().Running {
				t.Fatal("still running")
			}
		})
	}
}

// Waiting for declarations blocks on a channel: with settings handed over by
// the main slot (not through register) and a declaration in flight, the idle
// signal SetAsMain waits on is open. A closed one made the wait spin, which
// on one CPU starved the declaration loop (50 declarations took seconds).
func TestDeclaration_WaitBlocksWhileInFlight(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	entered, release := make(chan struct{}), make(chan struct{})
	releaseAll := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseAll) // before the server's Close, even on failure
	var once sync.Once
	f.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/v1/settings/declare" {
			once.Do(func() { close(entered) })
			<-release
		}
		return false
	})
	mustSetting(t, "s0", Int(), []string{"a"}, 0) // created before the client: held by the main slot
	mustSetting(t, "s1", Int(), []string{"a"}, 1)
	c, _ := newTestClient(t, f.URL(), []string{"a"})
	done := make(chan error, 1)
	go func() { done <- c.SetAsMain(ctxT(t)) }()
	<-entered
	idleSignalOpen := func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		select {
		case <-c.declIdle:
			return false
		default:
			return true
		}
	}
	waitUntil(t, "SetAsMain to wait on an open idle signal", idleSignalOpen)
	releaseAll()
	mustNil(t, <-done)
	if got := f.declaredNames(); !slices.Equal(got, []string{"s0", "s1"}) {
		t.Fatalf("declared %v", got)
	}
}
