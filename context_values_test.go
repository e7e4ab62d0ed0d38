package heksher

import (
	"context"
	"errors"
	"testing"
)

func TestFeatures_Accessors(t *testing.T) {
	cvFreshMain(t)
	f := NewFeatures(context.Background(), map[string]string{"b": "2", "a": "1"})
	if f.Len() != 2 {
		t.Errorf("Len = %d", f.Len())
	}
	if v, ok := f.Value("a"); !ok || v != "1" {
		t.Errorf("Value(a) = %q, %v", v, ok)
	}
	if _, ok := f.Value("c"); ok {
		t.Error("Value(c) found")
	}
	m := f.Map()
	m["a"] = "changed"
	if v, _ := f.Value("a"); v != "1" || len(m) != 2 {
		t.Errorf("Map exposes internal state or is wrong: %v", m)
	}
	var zero Features
	if zero.Len() != 0 || len(zero.Map()) != 0 {
		t.Error("zero Features is not empty")
	}
}

// GetFor ignores features the setting does not configure (a Features
// describes a whole request), and agrees with Get otherwise.
func TestFeatures_GetFor(t *testing.T) {
	stub := cvStubMain(t)
	narrow := cvMust(NewSetting("narrow", Int(), []string{"user"}, -1))(t)
	wide := cvMust(NewSetting("wide", Int(), []string{"user", "theme"}, -1))(t)
	cvApply(t, narrow, stub, nil, "", cvRule(1, "1", "user", "admin"))
	cvApply(t, wide, stub, nil, "", cvRule(1, "2", "user", "admin", "theme", "dark"), cvRule(2, "3", "theme", "dark"))
	ctx := context.Background()
	f := NewFeatures(ctx, map[string]string{"user": "admin", "theme": "dark", "tenant": "t1"})
	if v, err := narrow.GetFor(ctx, f); err != nil || v != 1 {
		t.Errorf("narrow.GetFor = %d, %v", v, err)
	}
	if _, err := narrow.Get(ctx, f.Map()); !errors.Is(err, ErrNotConfigurable) {
		t.Errorf("narrow.Get with the same values: %v; want ErrNotConfigurable", err)
	}
	r := cvMust(wide.LookupFor(ctx, f))(t)
	if r.Value != 2 || r.RuleID != 1 || r.Source != SourceRule {
		t.Errorf("wide.LookupFor = %+v", r)
	}
	jr := cvMust(wide.LookupFeaturesJSON(ctx, f))(t)
	if string(jr.Value) != "2" || jr.RuleID != 1 {
		t.Errorf("LookupFeaturesJSON = %+v", jr)
	}
	if _, err := wide.GetFor(ctx, NewFeatures(ctx, map[string]string{"user": "admin"})); !errors.Is(err, ErrMissingContextFeature) {
		t.Errorf("GetFor without theme: %v", err)
	}
	if err := stub.SetDefaults(map[string]Default{"theme": Static("dark")}); err != nil {
		t.Fatal(err)
	}
	if v := cvMust(wide.GetFor(ctx, NewFeatures(ctx, map[string]string{"user": "bob"})))(t); v != 3 {
		t.Errorf("GetFor with the default theme = %d, want 3", v)
	}
	fresh := cvMust(NewSetting("fresh", Int(), []string{"user"}, 9))(t)
	if v := cvMust(fresh.GetFor(ctx, f))(t); v != 9 {
		t.Errorf("never retrieved GetFor = %d", v)
	}
}

// cvWarnSupplier counts warnExplicit calls, to check NewFeatures warns once.
type cvWarnSupplier struct {
	*StubClient
	warned int
}

func (w *cvWarnSupplier) warnExplicit(context.Context, map[string]string) { w.warned++ }

func TestFeatures_WarnsOnce(t *testing.T) {
	cvFreshMain(t)
	w := &cvWarnSupplier{StubClient: NewStubClient()}
	installMain(w)
	s := cvMust(NewSetting("s", Int(), []string{"user"}, 0))(t)
	cvApply(t, s, w, nil, "", cvRule(1, "1", "user", "x"))
	ctx := context.Background()
	f := NewFeatures(ctx, map[string]string{"user": "x"})
	for range 3 {
		_, _ = s.GetFor(ctx, f)
	}
	if w.warned != 1 {
		t.Errorf("warnExplicit called %d times for one Features, want 1", w.warned)
	}
	_, _ = s.Get(ctx, map[string]string{"user": "x"})
	if w.warned != 2 {
		t.Errorf("Get did not warn through its supplier (%d)", w.warned)
	}
}
