package heksher

import (
	"context"
	"errors"
	"log/slog"
	"testing"
)

// B33: a default for a feature the client does not know warns; defaults
// fill the namespace of Get.
func TestB33_RedundantDefaults(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a", "b", "c")
	f.setData("cache_size", "50", [2]string{"100", "b=B"})
	s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 50)
	c, lc := newTestClient(t, f.URL(), []string{"a", "b", "c"})
	if err := c.TrackContexts(map[string][]string{"b": {"B"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetDefaults(map[string]Default{"b": Static("B"), "d": Static("im redundant")}); err != nil {
		t.Fatal(err)
	}
	w := lc.attrs(slog.LevelWarn, ".+ not specified .+")
	if len(w) != 1 || w[0]["features"] != "[d]" || !lc.has(slog.LevelWarn, "^context features are not specified in the client$") {
		t.Fatalf("want one warning naming d only:\n%s", lc.dump())
	}
	if v, ok := c.defaultValue(ctxT(t), "d"); !ok || v != "im redundant" {
		t.Fatalf("default of d = %q, %v: an unknown feature's default is still stored", v, ok)
	}
	if got := mustGet(t, s, map[string]string{"c": ""}); got != 100 {
		t.Fatalf("Get = %d, want 100", got)
	}
}

type ccCtxKey struct{}

func TestSetDefaults_DuplicateAndDynamic(t *testing.T) {
	c, _ := newTestClient(t, "http://h", []string{"a", "b", "c"})
	dyn := FromContext(func(ctx context.Context) (string, bool) {
		v, ok := ctx.Value(ccCtxKey{}).(string)
		return v, ok
	})
	if err := c.SetDefaults(map[string]Default{"a": Static("x"), "b": dyn}); err != nil {
		t.Fatal(err)
	}
	err := c.SetDefaults(map[string]Default{"c": Static("y"), "a": Static("z")})
	if !errors.Is(err, ErrDuplicateDefault) {
		t.Fatalf("err = %v, want ErrDuplicateDefault", err)
	}
	if _, ok := c.defaultValue(context.Background(), "c"); ok {
		t.Fatal("a failed SetDefaults applied part of its call")
	}
	if v, ok := c.defaultValue(context.Background(), "a"); !ok || v != "x" {
		t.Fatalf("a = %q %v", v, ok)
	}
	if _, ok := c.defaultValue(context.Background(), "b"); ok {
		t.Fatal("dynamic default without a value reported one")
	}
	ctx := context.WithValue(context.Background(), ccCtxKey{}, "from-ctx")
	if v, ok := c.defaultValue(ctx, "b"); !ok || v != "from-ctx" {
		t.Fatalf("b = %q %v", v, ok)
	}
	if n := testing.AllocsPerRun(100, func() { c.defaultValue(ctx, "a") }); n != 0 {
		t.Fatalf("defaultValue allocates %v", n)
	}
}
