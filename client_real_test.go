package heksher

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/hekshertest"
)

// The tests in this file run the client against the compatible server
// (hekshertest) over real HTTP, like the reference's black-box tests with
// context features a, b, c, z.

func realServer(t *testing.T, features ...string) *hekshertest.Server {
	t.Helper()
	if len(features) == 0 {
		features = []string{"a", "b", "c", "z"}
	}
	return hekshertest.NewServer(t, hekshertest.WithContextFeatures(features...))
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// B26 (real): a client with no settings becomes main and closes without
// error or warning; once the server has another feature, the same start only
// warns about the mismatch (nothing fails, nothing else is logged).
func TestReal_B26_InitWorks(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	c, lc := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c.SetAsMain(ctxT(t)))
	mustNil(t, c.Close())
	if n := lc.countAtLeast(slog.LevelWarn); n != 0 {
		t.Fatalf("%d warnings or errors, want none:\n%s", n, lc.dump())
	}
	mustNil(t, srv.AddContextFeature("d"))
	freshMain(t)
	c2, lc2 := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c2.SetAsMain(ctxT(t)))
	mustNil(t, c2.Close())
	if lc2.count(slog.LevelWarn, "^context feature mismatch$") != 1 || lc2.countAtLeast(slog.LevelWarn) != 1 {
		t.Fatalf("want exactly one warning, the mismatch:\n%s", lc2.dump())
	}
}

// B27 (real): declared during SetAsMain; a rule added afterwards is served
// after Reload.
func TestReal_B27_DeclareBeforeMain(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 50)
	c, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c.TrackContexts(map[string][]string{"b": {"0"}}))
	srv.ResetRequests()
	mustNil(t, c.SetAsMain(ctxT(t)))
	// Declared during SetAsMain, before its one query.
	var paths []string
	for _, r := range srv.Requests() {
		paths = append(paths, r.Path)
	}
	if !slices.Equal(paths, []string{"/api/v1/context_features", "/api/v1/settings/declare", "/api/v1/query"}) {
		t.Fatalf("requests during SetAsMain = %v", paths)
	}
	if _, err := srv.AddRule("cache_size", map[string]string{"b": "0"}, 100); err != nil {
		t.Fatal(err)
	}
	mustNil(t, c.Reload(ctxT(t)))
	if got := mustGet(t, s, map[string]string{"b": "0", "c": ""}); got != 100 {
		t.Fatalf("Get = %d", got)
	}
}

// B28 (real): declared after main; never retrieved until Reload.
func TestReal_B28_DeclareAfterMain(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	c, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c.TrackContexts(map[string][]string{"b": {"0"}}))
	mustNil(t, c.SetAsMain(ctxT(t)))
	// Hold the declaration at the server, so that the queue is seen before
	// it could drain.
	gate := make(chan struct{})
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release)
	srv.Intercept(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.URL.Path == "/api/v1/settings/declare" {
			<-gate
		}
		next.ServeHTTP(w, r)
	})
	s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 50)
	if c.PendingDeclarations() == 0 {
		t.Fatal("declaration queue empty right after creation")
	}
	release()
	mustNil(t, c.waitDeclarations(ctxT(t)))
	if s.retrieved() {
		t.Fatal("the setting received a rule set before any update named it")
	}
	if got := mustGet(t, s, map[string]string{"b": "", "c": ""}); got != 50 {
		t.Fatalf("Get = %d", got)
	}
	if _, err := srv.AddRule("cache_size", map[string]string{"b": "0"}, 100); err != nil {
		t.Fatal(err)
	}
	mustNil(t, c.Reload(ctxT(t)))
	if got := mustGet(t, s, map[string]string{"b": "0", "c": ""}); got != 100 {
		t.Fatalf("Get = %d", got)
	}
}

// B29 (real): a 20ms interval picks up a new rule without Reload.
func TestReal_B29_RegularUpdate(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 50)
	c, err := NewClient(srv.URL, 20*time.Millisecond, []string{"a", "b", "c", "z"})
	mustNil(t, err)
	defer c.Close()
	mustNil(t, c.TrackContexts(map[string][]string{"b": {"0"}}))
	mustNil(t, c.SetAsMain(ctxT(t)))
	if _, err := srv.AddRule("cache_size", map[string]string{"b": "0"}, 100); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for mustGet(t, s, map[string]string{"b": "0", "c": ""}) != 100 {
		if time.Now().After(deadline) {
			t.Fatal("not updated")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// B32 (real).
func TestReal_B32_ContextFeatureMismatch(t *testing.T) {
	for _, feats := range [][]string{{}, {"a"}, {"b", "a"}, {"a", "b", "c", "d"}, {"e", "f", "g"}} {
		t.Run(strings.Join(feats, ","), func(t *testing.T) {
			freshMain(t)
			srv := realServer(t, "a", "b", "c")
			c, lc := newTestClient(t, srv.URL, feats)
			mustNil(t, c.SetAsMain(ctxT(t)))
			if lc.count(slog.LevelWarn, "^context feature mismatch$") != 1 || lc.countAtLeast(slog.LevelWarn) != 1 {
				t.Fatalf("want exactly one warning, the mismatch:\n%s", lc.dump())
			}
			if !slices.Equal(c.ContextFeatures(), feats) {
				t.Fatalf("features = %v, want the client's own %v", c.ContextFeatures(), feats)
			}
		})
	}
}

// B34 (real): tracking b=B, a=TrackAll receives rule (b=B); one query during
// SetAsMain with the exact parameters.
func TestReal_B34_TrackContexts(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	mustNil(t, srv.Declare(hekshertest.Setting{Name: "cache_size", Type: "int", Default: 50, ConfigurableFeatures: []string{"b", "c"},
		Rules: []hekshertest.Rule{{Conditions: map[string]string{"b": "B"}, Value: 100}}}))
	s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 50)
	c, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c.TrackContexts(map[string][]string{"b": {"B"}, "a": {TrackAll}}))
	srv.ResetRequests()
	mustNil(t, c.SetAsMain(ctxT(t)))
	var queries []hekshertest.Request
	for _, r := range srv.Requests() {
		if r.Path == "/api/v1/query" {
			queries = append(queries, r)
		}
	}
	if len(queries) != 1 {
		t.Fatalf("queries = %d", len(queries))
	}
	q := queries[0].Query
	if q.Get("settings") != "cache_size" || q.Get("context_filters") != "a:*,b:(B)" || q.Get("include_metadata") != "false" {
		t.Fatalf("query = %v", q)
	}
	if got := mustGet(t, s, map[string]string{"b": "B", "c": ""}); got != 100 {
		t.Fatalf("Get = %d", got)
	}
}

// B38 (real): outdated by a major version; the newer default is served once
// the declaration was handled, before any reload.
func TestReal_B38_OutdatedDeclaration(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	mustNil(t, srv.Declare(hekshertest.Setting{Name: "cache_size", Type: "int", Default: 70, ConfigurableFeatures: []string{"a", "b"}}))
	mustNil(t, srv.Declare(hekshertest.Setting{Name: "cache_size", Type: "int", Default: 60, ConfigurableFeatures: []string{"a", "b", "c"}, Version: "2.0"}))
	c, lc := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c.SetAsMain(ctxT(t)))
	srv.ResetRequests()
	s := mustSetting(t, "cache_size", Int(), []string{"a", "b"}, 80)
	mustNil(t, c.waitDeclarations(ctxT(t)))
	if w := lc.attrs(slog.LevelWarn, ".+ outdated .+"); len(w) != 1 || w[0]["latest_version"] != "2.0" {
		t.Fatalf("want one outdated warning naming 2.0:\n%s", lc.dump())
	}
	// Before any reload: no query since the declaration, no rule set.
	for _, r := range srv.Requests() {
		if r.Path == "/api/v1/query" {
			t.Fatal("a query ran after the declaration")
		}
	}
	if s.retrieved() {
		t.Fatal("the setting received a rule set")
	}
	if got := mustGet(t, s, map[string]string{"a": "", "b": ""}); got != 60 {
		t.Fatalf("Get = %d, want 60", got)
	}
}

// B40 (real): an upgrade by a second object after main; the new object is
// tracked, never received a rule set, and serves its local default.
func TestReal_B40_UpgradedDeclaration(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	mustSetting(t, "cache_size", Int(), []string{"a", "b", "c"}, 50)
	h := newRecHook()
	c, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"}, WithHooks(h))
	mustNil(t, c.SetAsMain(ctxT(t)))
	second := mustSetting(t, "cache_size", Int(), []string{"a", "b"}, 80, WithVersion("2.0"))
	mustNil(t, c.waitDeclarations(ctxT(t)))
	if got := c.Settings(); len(got) != 1 || got[0] != AnySetting(second) {
		t.Fatalf("tracked = %v, want the second object only", got)
	}
	if second.retrieved() {
		t.Fatal("the second object received a rule set")
	}
	// Features [a,b] and no a: with a rule set this would be a missing
	// feature; never retrieved, it is the local default.
	if got := mustGet(t, second, map[string]string{"b": ""}); got != 80 {
		t.Fatalf("Get = %d", got)
	}
	evs := h.waitKind(t, event.KindDeclared, 2)
	if d := evs[1].(*event.Declared); d.Outcome != "upgraded" || !d.Tracked {
		t.Fatalf("declared = %+v", d)
	}
}

// B41 (real).
func TestReal_B41_Ping(t *testing.T) {
	srv := realServer(t)
	c, _ := newTestClient(t, srv.URL, nil)
	mustNil(t, c.Ping(ctxT(t)))
}

// B42 (real): no rules, the server default is served.
func TestReal_B42_NoRules(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 100)
	c, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c.SetAsMain(ctxT(t)))
	if got := mustGet(t, s, map[string]string{"b": "", "c": ""}); got != 100 {
		t.Fatalf("Get = %d", got)
	}
	if !s.retrieved() {
		t.Fatal("setting never retrieved")
	}
}

// B63 (real): a client that tracks nothing sends an empty context_filters
// and the server then sends no conditioned rule: only the default is served.
func TestReal_B63_NothingTracked(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	s := mustSetting(t, "cache_size", Int(), []string{"a"}, 50)
	c, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c.SetAsMain(ctxT(t)))
	if _, err := srv.AddRule("cache_size", map[string]string{"a": "x"}, 99); err != nil {
		t.Fatal(err)
	}
	srv.ResetRequests()
	mustNil(t, c.Reload(ctxT(t)))
	var queries []hekshertest.Request
	for _, r := range srv.Requests() {
		if r.Path == "/api/v1/query" {
			queries = append(queries, r)
		}
	}
	if len(queries) != 1 || !strings.Contains("&"+queries[0].RawQuery+"&", "&context_filters=&") {
		t.Fatalf("queries = %+v, want one with context_filters= (empty, present)", queries)
	}
	if got := mustGet(t, s, map[string]string{"a": "x"}); got != 50 || !s.retrieved() {
		t.Fatalf("Get(a=x) = %d (retrieved %v), want the default 50 from an applied answer", got, s.retrieved())
	}
	if rs := s.RuleSet(); len(rs.Rules) != 0 {
		t.Fatalf("rules received = %+v, want none", rs.Rules)
	}
}

// B43 and B44 (real): the declared setting is listed with all its fields,
// and it is the only one.
func TestReal_B43_B44_GetSettings(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	mustSetting(t, "foo", Int(), []string{"a", "b"}, 5)
	c, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c.SetAsMain(ctxT(t)))
	got, err := c.GetSettings(ctxT(t))
	mustNil(t, err)
	if len(got) != 1 {
		t.Fatalf("settings = %v", got)
	}
	foo := got["foo"]
	if strings.Join(foo.ConfigurableFeatures, ",") != "a,b" || foo.Type != "int" || string(foo.DefaultValue) != "5" ||
		len(foo.Metadata) != 0 || foo.Aliases == nil || len(foo.Aliases) != 0 || foo.Version != "1.0" {
		t.Fatalf("foo = %+v", foo)
	}
}

// B46 (real): the server is at 2.0 with another Flags type; the outdated
// declaration's default is coerced (warning), and a rule's unknown name is
// dropped.
func TestReal_B46_FlagsCoerce(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	mustNil(t, srv.Declare(hekshertest.Setting{Name: "color", Type: `Flags["blue","green","red"]`, Default: []any{"green"}, ConfigurableFeatures: []string{"a", "b", "c"}}))
	mustNil(t, srv.Declare(hekshertest.Setting{Name: "color", Type: `Flags["blue","green","white"]`, Default: []any{"white", "blue"},
		ConfigurableFeatures: []string{"a", "b", "c"}, Version: "2.0",
		Rules: []hekshertest.Rule{{Conditions: map[string]string{"c": "x"}, Value: []any{"green", "blue", "white"}}}}))
	s := mustSetting(t, "color", Flags("blue", "red", "green"), []string{"a", "b", "c"}, NewFlagSet("green"))
	c, lc := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c.TrackContexts(map[string][]string{"a": {TrackAll}, "b": {TrackAll}, "c": {TrackAll}}))
	mustNil(t, c.SetAsMain(ctxT(t)))
	all := map[string]string{"a": "", "b": ""}
	if got := mustGet(t, s, with(all, "c", "")); !got.Equal(NewFlagSet("blue")) {
		t.Fatalf("Get(c='') = %v", got)
	}
	if got := mustGet(t, s, with(all, "c", "x")); !got.Equal(NewFlagSet("green", "blue")) {
		t.Fatalf("Get(c=x) = %v", got)
	}
	if !lc.has(slog.LevelWarn, ".+ coerced .+") {
		t.Fatalf("no coercion warning:\n%s", lc.dump())
	}
}

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for mk, mv := range m {
		out[mk] = mv
	}
	return out
}

// B47 and B49 (real): the server has the setting at the same version with a
// different type: a 409 conflict, the setting is still tracked, and its
// server default is coerced.
func TestReal_B47_B49_FlagsConflictCoerceDefault(t *testing.T) {
	tests := []struct {
		name string
		def  []any
		want FlagSet
	}{
		{"B47", []any{"white", "blue"}, NewFlagSet("blue")},
		{"B49", []any{"blank"}, NewFlagSet()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			freshMain(t)
			srv := realServer(t)
			mustNil(t, srv.Declare(hekshertest.Setting{Name: "color", Type: `Flags["blank","blue","green","white"]`, Default: tc.def,
				ConfigurableFeatures: []string{"a", "b", "c"},
				Rules:                []hekshertest.Rule{{Conditions: map[string]string{"a": "f"}, Value: []any{"green"}}}}))
			s := mustSetting(t, "color", Flags("blue", "red", "green"), []string{"a", "b", "c"}, NewFlagSet())
			c, lc := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
			mustNil(t, c.TrackContexts(map[string][]string{"a": {TrackAll}}))
			mustNil(t, c.SetAsMain(ctxT(t)))
			if !lc.has(slog.LevelError, "^conflict .+") {
				t.Fatalf("no conflict:\n%s", lc.dump())
			}
			if !lc.has(slog.LevelWarn, ".+ default value coerced .+") {
				t.Fatalf("no coercion warning:\n%s", lc.dump())
			}
			if got := mustGet(t, s, map[string]string{"a": "re", "b": "", "c": ""}); !got.Equal(tc.want) {
				t.Fatalf("Get = %v, want %v", got, tc.want)
			}
		})
	}
}

// B50 (real): the server's setting also has feature z; with a=x, b and c
// TrackAll the server does not send the z rule.
func TestReal_B50_FlagsRejectContext(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	mustNil(t, srv.Declare(hekshertest.Setting{Name: "color", Type: `Flags["blue","green","red"]`, Default: []any{},
		ConfigurableFeatures: []string{"a", "b", "c", "z"},
		Rules: []hekshertest.Rule{
			{Conditions: map[string]string{"a": "x", "z": "foo"}, Value: []any{"red"}},
			{Conditions: map[string]string{"a": "x"}, Value: []any{"green", "blue"}},
		}}))
	s := mustSetting(t, "color", Flags("blue", "red", "green"), []string{"a", "b", "c"}, NewFlagSet())
	c, lc := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c.TrackContexts(map[string][]string{"a": {"x"}, "b": {TrackAll}, "c": {TrackAll}}))
	mustNil(t, c.SetAsMain(ctxT(t)))
	if !lc.has(slog.LevelError, "^conflict .+") {
		t.Fatalf("no conflict:\n%s", lc.dump())
	}
	if got := mustGet(t, s, map[string]string{"a": "x", "b": "", "c": ""}); !got.Equal(NewFlagSet("green", "blue")) {
		t.Fatalf("Get = %v", got)
	}
}

// B53 (real): switching main from a closed client.
func TestReal_B53_SwitchMain(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	conf1 := mustSetting(t, "conf1", Int(), []string{"a"}, 74)
	conf2 := mustSetting(t, "conf2", Int(), []string{"b"}, 26)
	c1, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c1.TrackContexts(map[string][]string{"a": {"x"}, "b": {TrackAll}}))
	mustNil(t, c1.SetAsMain(ctxT(t)))
	mustNil(t, c1.Close())
	c2, lc := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c2.TrackContexts(map[string][]string{"a": {"x"}, "b": {TrackAll}}))
	srv.ResetRequests()
	mustNil(t, c2.SetAsMain(ctxT(t)))
	for _, r := range srv.Requests() {
		if r.Path == "/api/v1/settings/declare" {
			t.Fatal("adopted settings declared again")
		}
	}
	if !lc.has(slog.LevelWarn, ".+ NOT recommended! .+") {
		t.Fatal("no warning")
	}
	conf3 := mustSetting(t, "conf3", Int(), []string{"a"}, 3)
	mustNil(t, c2.waitDeclarations(ctxT(t)))
	for name, v := range map[string]int{"conf1": 5, "conf2": 4, "conf3": 6} {
		feat := "a"
		if name == "conf2" {
			feat = "b"
		}
		if _, err := srv.AddRule(name, map[string]string{feat: "x"}, v); err != nil {
			t.Fatal(err)
		}
	}
	mustNil(t, c2.Reload(ctxT(t)))
	if a, b, c := mustGet(t, conf1, map[string]string{"a": "x"}), mustGet(t, conf2, map[string]string{"b": "x"}), mustGet(t, conf3, map[string]string{"a": "x"}); a != 5 || b != 4 || c != 6 {
		t.Fatalf("values = %d %d %d", a, b, c)
	}
}

// B52 (real): conf1 and conf2 both created before the client, which tracks
// a=[x,z] and b=TrackAll; rules added afterwards are both seen after Reload.
func TestReal_B52_SwitchMainFromTemp(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	conf1 := mustSetting(t, "conf1", Int(), []string{"a"}, 74)
	conf2 := mustSetting(t, "conf2", Int(), []string{"b"}, 26)
	c, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c.TrackContexts(map[string][]string{"a": {"x", "z"}, "b": {TrackAll}}))
	mustNil(t, c.SetAsMain(ctxT(t)))
	if _, err := srv.AddRule("conf1", map[string]string{"a": "x"}, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddRule("conf2", map[string]string{"b": "y"}, 4); err != nil {
		t.Fatal(err)
	}
	mustNil(t, c.Reload(ctxT(t)))
	if a, b := mustGet(t, conf1, map[string]string{"a": "x"}), mustGet(t, conf2, map[string]string{"b": "y"}); a != 5 || b != 4 {
		t.Fatalf("values = %d %d, want 5 4", a, b)
	}
}

// B54 (real): client2 tracks a=[a,b,c], b="shoobidoobi" instead of a=[x],
// b=TrackAll: one warning, three settings tracked, and the values its own
// tracking downloads (rules on values it does not track are not sent).
func TestReal_B54_SwitchMainDifferentTracking(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	conf1 := mustSetting(t, "conf1", Int(), []string{"a"}, 74)
	conf2 := mustSetting(t, "conf2", Int(), []string{"b"}, 26)
	c1, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c1.TrackContexts(map[string][]string{"a": {"x"}, "b": {TrackAll}}))
	mustNil(t, c1.SetAsMain(ctxT(t)))
	mustNil(t, c1.Close())
	c2, lc := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c2.TrackContexts(map[string][]string{"a": {"a", "b", "c"}, "b": {"shoobidoobi"}}))
	mustNil(t, c2.SetAsMain(ctxT(t)))
	if lc.count(slog.LevelWarn, ".+ tracks different context .+") != 1 {
		t.Fatalf("want one tracking warning:\n%s", lc.dump())
	}
	conf3 := mustSetting(t, "conf3", Int(), []string{"a"}, 3)
	mustNil(t, c2.waitDeclarations(ctxT(t))) // the server must know conf3 before its rule
	for _, r := range []struct {
		setting, feature, value string
		v                       int
	}{
		{"conf1", "a", "x", 5}, {"conf1", "a", "a", 15},
		{"conf2", "b", "shoobidoobi", 4}, {"conf2", "b", "other", 40},
		{"conf3", "a", "b", 6},
	} {
		if _, err := srv.AddRule(r.setting, map[string]string{r.feature: r.value}, r.v); err != nil {
			t.Fatal(err)
		}
	}
	mustNil(t, c2.Reload(ctxT(t)))
	if got := c2.Tracked(); !slices.Equal(got, []string{"conf1", "conf2", "conf3"}) {
		t.Fatalf("tracked = %v", got)
	}
	for _, tc := range []struct {
		s    *Setting[int64]
		at   map[string]string
		want int64
	}{
		{conf1, map[string]string{"a": "a"}, 15},
		{conf1, map[string]string{"a": "x"}, 74}, // a=x is no longer tracked
		{conf2, map[string]string{"b": "shoobidoobi"}, 4},
		{conf2, map[string]string{"b": "other"}, 26}, // b is no longer TrackAll
		{conf3, map[string]string{"a": "b"}, 6},
	} {
		if got := mustGet(t, tc.s, tc.at); got != tc.want {
			t.Fatalf("%s%v = %d, want %d", tc.s.Name(), tc.at, got, tc.want)
		}
	}
}

// B56 (real) with B55: a setting queued on the closed client blocks the
// switch; different context features too.
func TestReal_B55_B56_SwitchMainFails(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	c1, _ := newTestClient(t, srv.URL, []string{"a", "b"})
	mustNil(t, c1.SetAsMain(ctxT(t)))
	mustNil(t, c1.Close())
	c2, _ := newTestClient(t, srv.URL, []string{"b", "c"})
	if err := c2.SetAsMain(ctxT(t)); !errors.Is(err, ErrMainSwitch) {
		t.Fatalf("B55: %v", err)
	}
	mustSetting(t, "late", Int(), []string{"a"}, 1)
	c3, _ := newTestClient(t, srv.URL, []string{"a", "b"})
	if err := c3.SetAsMain(ctxT(t)); !errors.Is(err, ErrMainSwitch) || !strings.Contains(err.Error(), "forget to close") {
		t.Fatalf("B56: %v", err)
	}
}

// Faults injected in the compatible server: each update failure keeps the
// last good values, reports a typed error, and the next answer recovers.
func TestReal_UpdateFaults(t *testing.T) {
	isQuery := func(r *http.Request) bool { return r.URL.Path == "/api/v1/query" }
	tests := []struct {
		name   string
		inject func(srv *hekshertest.Server)
		undo   func(srv *hekshertest.Server)
		as     func(err error) bool
	}{
		{"connection refused", func(s *hekshertest.Server) { s.Stop() }, func(s *hekshertest.Server) { mustNil(t, s.Start()) },
			func(err error) bool { var e *RequestError; return errors.As(err, &e) }},
		// Two faults: net/http retries an idempotent request once when a
		// reused connection closes before answering.
		{"connection closed", func(s *hekshertest.Server) {
			s.EnqueueFault(hekshertest.Fault{Match: isQuery, CloseConnection: true})
			s.EnqueueFault(hekshertest.Fault{Match: isQuery, CloseConnection: true})
		}, nil,
			func(err error) bool { var e *RequestError; return errors.As(err, &e) }},
		{"500", func(s *hekshertest.Server) {
			s.EnqueueFault(hekshertest.Fault{Match: isQuery, Status: 500, Body: "Internal Server Error"})
		}, nil, func(err error) bool { var e *HTTPError; return errors.As(err, &e) && e.StatusCode == 500 }},
		{"503 html", func(s *hekshertest.Server) {
			s.EnqueueFault(hekshertest.Fault{Match: isQuery, Status: 503, Body: "<html>down</html>", Header: http.Header{"Content-Type": {"text/html"}}})
		}, nil, func(err error) bool { var e *HTTPError; return errors.As(err, &e) && e.StatusCode == 503 }},
		{"cut body", func(s *hekshertest.Server) { s.EnqueueFault(hekshertest.Fault{Match: isQuery, CutBody: true}) }, nil,
			func(err error) bool { var e *RequestError; return errors.As(err, &e) }},
		{"invalid json", func(s *hekshertest.Server) {
			s.EnqueueFault(hekshertest.Fault{Match: isQuery, Status: 200, Body: `{"settings":`})
		}, nil, func(err error) bool { var e *DecodeError; return errors.As(err, &e) }},
		{"wrong shape", func(s *hekshertest.Server) {
			s.EnqueueFault(hekshertest.Fault{Match: isQuery, Status: 200, Body: `{"settings":{"cache_size":{"default_value":1,"rules":"none"}}}`})
		}, nil, func(err error) bool {
			var e *DecodeError
			return errors.As(err, &e) && strings.Contains(err.Error(), `settings["cache_size"]`)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			freshMain(t)
			srv := realServer(t)
			s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 50)
			h := newRecHook()
			c, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"}, WithHooks(h))
			mustNil(t, c.TrackContexts(map[string][]string{"b": {"0"}}))
			mustNil(t, c.SetAsMain(ctxT(t)))
			id, err := srv.AddRule("cache_size", map[string]string{"b": "0"}, 100)
			mustNil(t, err)
			mustNil(t, c.Reload(ctxT(t)))
			mustNil(t, srv.SetRuleValue(id, 200))
			tc.inject(srv)
			err = c.Reload(ctxT(t))
			if !tc.as(err) {
				t.Fatalf("Reload = %v", err)
			}
			if ue := h.waitKind(t, event.KindUpdateError, 1)[0].(*event.UpdateError); !tc.as(ue.Err) {
				t.Fatalf("hook error = %v", ue.Err)
			}
			if got := mustGet(t, s, map[string]string{"b": "0", "c": ""}); got != 100 {
				t.Fatalf("Get = %d, want the last good 100", got)
			}
			if tc.undo != nil {
				tc.undo(srv)
			}
			mustNil(t, c.Reload(ctxT(t)))
			if got := mustGet(t, s, map[string]string{"b": "0", "c": ""}); got != 200 {
				t.Fatalf("Get after recovery = %d", got)
			}
		})
	}
}

// 1,000 pending settings are declared in creation order during SetAsMain.
func TestReal_DeclarationOrder1000(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	var want []string
	for i := range 1000 {
		name := "s_" + strconv.Itoa(i)
		mustSetting(t, name, Int(), []string{"a"}, int64(i))
		want = append(want, name)
	}
	c, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	srv.ResetRequests()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // slow under -race on a loaded machine
	defer cancel()
	mustNil(t, c.SetAsMain(ctx))
	var got []string
	for _, r := range srv.Requests() {
		if r.Path == "/api/v1/settings/declare" {
			var body struct{ Name string }
			mustNil(t, json.Unmarshal(r.Body, &body))
			got = append(got, body.Name)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("declared %d settings, order differs from creation order", len(got))
	}
	if len(c.Tracked()) != 1000 {
		t.Fatalf("tracked = %d", len(c.Tracked()))
	}
}

// Q-ALIAS-KEY against the compatible server: a setting renamed on the
// service and still declared under its old name gets its values.
func TestReal_RenamedSetting(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	mustNil(t, srv.Declare(hekshertest.Setting{Name: "old_name", Type: "int", Default: 7, ConfigurableFeatures: []string{"a"}}))
	if _, err := srv.Do(ctxT(t), http.MethodPut, "/api/v1/settings/old_name/name", map[string]any{"name": "new_name", "version": "2.0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddRule("new_name", map[string]string{"a": "x"}, 99); err != nil {
		t.Fatal(err)
	}
	s := mustSetting(t, "old_name", Int(), []string{"a"}, 7)
	c, lc := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c.TrackContexts(map[string][]string{"a": {"x"}}))
	mustNil(t, c.SetAsMain(ctxT(t)))
	if got := mustGet(t, s, map[string]string{"a": "x"}); got != 99 {
		t.Fatalf("Get = %d, want 99:\n%s", got, lc.dump())
	}
}

// B53 with a renamed setting: the canonical name client1 learnt from its
// outdated declaration goes to client2 with the setting, so client2 (which
// does not declare it again) still applies the service's entry for it.
func TestReal_B53_SwitchMainKeepsRenames(t *testing.T) {
	freshMain(t)
	srv := realServer(t)
	mustNil(t, srv.Declare(hekshertest.Setting{Name: "old_name", Type: "int", Default: 7, ConfigurableFeatures: []string{"a"}}))
	if _, err := srv.Do(ctxT(t), http.MethodPut, "/api/v1/settings/old_name/name", map[string]any{"name": "new_name", "version": "2.0"}); err != nil {
		t.Fatal(err)
	}
	id, err := srv.AddRule("new_name", map[string]string{"a": "x"}, 99)
	mustNil(t, err)
	s := mustSetting(t, "old_name", Int(), []string{"a"}, 7)
	c1, _ := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c1.TrackContexts(map[string][]string{"a": {"x"}}))
	mustNil(t, c1.SetAsMain(ctxT(t)))
	mustNil(t, c1.Close())
	c2, lc := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"})
	mustNil(t, c2.TrackContexts(map[string][]string{"a": {"x"}}))
	mustNil(t, c2.SetAsMain(ctxT(t)))
	mustNil(t, srv.SetRuleValue(id, 100))
	mustNil(t, c2.Reload(ctxT(t)))
	if got := mustGet(t, s, map[string]string{"a": "x"}); got != 100 {
		t.Fatalf("Get = %d, want 100 from client2's update:\n%s", got, lc.dump())
	}
	if lc.has(slog.LevelWarn, "does not track") {
		t.Fatalf("client2 skipped the canonical entry:\n%s", lc.dump())
	}
}
