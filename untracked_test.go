package heksher

import (
	"context"
	"log/slog"
	"strconv"
	"testing"

	"github.com/heksher-go/heksher/hekshertest"
)

type userKey struct{}

// A forgotten TrackContexts: the defaults (static and from the context)
// and explicit values that are not tracked are each reported once at WARN,
// whatever their source and however many reads; values from outside the
// program (ExternalContext) only at DEBUG, outside the set; the set is
// bounded; and a read of an already reported value allocates nothing.
func TestUntrackedValues_ReportedOncePerValue(t *testing.T) {
	freshMain(t)
	srv := realServer(t, "user", "theme")
	mustNil(t, srv.Declare(hekshertest.Setting{Name: "limit", Type: "int", Default: 1, ConfigurableFeatures: []string{"user", "theme"},
		Rules: []hekshertest.Rule{{Conditions: map[string]string{"theme": "dark"}, Value: 2}}}))
	s := mustSetting(t, "limit", Int(), []string{"user", "theme"}, 1)
	c, lc := newTestClient(t, srv.URL, []string{"user", "theme"})
	mustNil(t, c.SetDefaults(map[string]Default{
		"theme": Static("dark"),
		"user": FromContext(func(ctx context.Context) (string, bool) {
			u, ok := ctx.Value(userKey{}).(string)
			return u, ok
		}),
	}))
	// No TrackContexts: the rule on theme=dark is never downloaded.
	mustNil(t, c.SetAsMain(ctxT(t)))
	ann := context.WithValue(context.Background(), userKey{}, "ann")
	for range 100 {
		if v, err := s.Get(ann, nil); err != nil || v != 1 {
			t.Fatalf("Get = %d, %v; want the default 1 (nothing tracked)", v, err)
		}
		if v, err := s.Get(ann, map[string]string{"user": "bob"}); err != nil || v != 1 {
			t.Fatalf("Get = %d, %v", v, err)
		}
	}
	warned := map[string]string{}
	for _, a := range lc.attrs(slog.LevelWarn, "^context feature value is not tracked by client$") {
		key := a["feature"] + "=" + a["value"]
		if _, dup := warned[key]; dup {
			t.Fatalf("%s reported twice:\n%s", key, lc.dump())
		}
		warned[key] = a["from"]
	}
	want := map[string]string{"theme=dark": "default", "user=ann": "default", "user=bob": "explicit"}
	if len(warned) != len(want) {
		t.Fatalf("reported %v, want %v", warned, want)
	}
	for k, from := range want {
		if warned[k] != from {
			t.Fatalf("reported %v, want %v", warned, want)
		}
	}

	// From outside the program: DEBUG only, and not in the set.
	ext := ExternalContext(ann)
	for range 10 {
		if _, err := s.Get(ext, map[string]string{"user": "carol"}); err != nil {
			t.Fatal(err)
		}
	}
	if lc.count(slog.LevelWarn, "^context feature value is not tracked by client$") != 3 ||
		len(lc.attrs(slog.LevelDebug, "^context feature value is not tracked by client$")) < 10 {
		t.Fatalf("external values must log at DEBUG only:\n%s", lc.dump())
	}
	if _, err := s.Get(ann, map[string]string{"user": "carol"}); err != nil {
		t.Fatal(err)
	}
	if n := lc.count(slog.LevelWarn, "^context feature value is not tracked by client$"); n != 4 {
		t.Fatalf("carol read by the program: %d warnings, want 4 (external reads must not use up the set)", n)
	}

	// A reported value costs no allocation.
	bob := map[string]string{"user": "bob"}
	if n := testing.AllocsPerRun(200, func() { _, _ = s.Get(ann, bob) }); n != 0 {
		t.Fatalf("Get with reported untracked values: %v allocations, want 0", n)
	}

	// Bounded: past maxUntracked distinct values, one last warning.
	for i := range 2 * maxUntracked {
		_, _ = s.Get(ann, map[string]string{"user": "u" + strconv.Itoa(i)})
	}
	if n := lc.count(slog.LevelWarn, "^context feature value is not tracked by client$"); n != maxUntracked {
		t.Fatalf("%d values reported, want the bound %d", n, maxUntracked)
	}
	if n := lc.count(slog.LevelWarn, "^heksher: more context values are not tracked; no more are reported$"); n != 1 {
		t.Fatalf("overflow reported %d times, want once", n)
	}
}
