package heksher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// cvGetCase is one Get expectation.
type cvGetCase[T comparable] struct {
	args    map[string]string
	want    T
	missing bool
}

func cvCheckGets[T comparable](t *testing.T, s *Setting[T], cases []cvGetCase[T]) {
	t.Helper()
	for _, c := range cases {
		got, err := s.Get(context.Background(), c.args)
		if c.missing {
			if !errors.Is(err, ErrMissingContextFeature) {
				t.Errorf("Get(%v) = %v, %v; want a missing-feature error", c.args, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Get(%v) = %v, %v; want %v", c.args, got, err, c.want)
		}
	}
}

func cvSetting(t *testing.T) *Setting[int64] {
	t.Helper()
	return cvMust(NewSetting("conf", Int(), []string{"a", "b", "c", "x"}, -1))(t)
}

func cvRulesX01() []StubRule[int64] {
	return []StubRule[int64]{{Conditions: map[string]string{"x": "0"}, Value: 0}, {Conditions: map[string]string{"x": "1"}, Value: 1}}
}

// B10
func TestStub_Resolve(t *testing.T) {
	stub := cvStubMain(t)
	s := cvSetting(t)
	PatchRules(t, stub, s, cvRulesX01()...)
	if err := stub.SetDefaults(map[string]Default{"a": Static(""), "b": Static(""), "c": Static("")}); err != nil {
		t.Fatal(err)
	}
	cvCheckGets(t, s, []cvGetCase[int64]{
		{args: map[string]string{"x": "0"}, want: 0},
		{args: map[string]string{"x": "1"}, want: 1},
		{args: map[string]string{"x": "15"}, want: -1},
		{args: nil, missing: true},
	})
	var mfe *MissingFeatureError
	if _, err := s.Get(context.Background(), nil); !errors.As(err, &mfe) || mfe.Feature != "x" || mfe.Setting != "conf" {
		t.Errorf("missing-feature error = %v", err)
	}
	if err := stub.SetDefaults(map[string]Default{"x": Static("0")}); err != nil {
		t.Fatal(err)
	}
	cvCheckGets(t, s, []cvGetCase[int64]{
		{args: map[string]string{"x": "1"}, want: 1}, // explicit beats default
		{args: nil, want: 0},
	})
}

// B11
func TestStub_MultiUpdate(t *testing.T) {
	stub := cvStubMain(t)
	s := cvSetting(t)
	SetValue(stub, s, 10) // permanent
	if err := stub.SetDefaults(map[string]Default{"a": Static(""), "b": Static(""), "c": Static("")}); err != nil {
		t.Fatal(err)
	}
	restore := cvMust(SetRules(stub, s, cvRulesX01()...))(t)
	cvCheckGets(t, s, []cvGetCase[int64]{
		{args: map[string]string{"x": "0"}, want: 0},
		{args: map[string]string{"x": "1"}, want: 1},
		{args: map[string]string{"x": "15"}, want: -1},
	})
	restore()
	cvCheckGets(t, s, []cvGetCase[int64]{{args: map[string]string{"x": "0"}, want: 10}})
}

// B12
func TestStub_NestedUpdate(t *testing.T) {
	stub := cvStubMain(t)
	s := cvSetting(t)
	if err := stub.SetDefaults(map[string]Default{"a": Static(""), "b": Static(""), "c": Static(""), "x": Static("")}); err != nil {
		t.Fatal(err)
	}
	get := func() int64 { return cvMust(s.Get(context.Background(), nil))(t) }
	var seen []int64
	seen = append(seen, get())
	r0 := SetValue(stub, s, 0)
	seen = append(seen, get())
	r1 := SetValue(stub, s, 1)
	seen = append(seen, get())
	r1()
	seen = append(seen, get())
	r0()
	seen = append(seen, get())
	want := []int64{-1, 0, 1, 0, -1}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("values = %v, want %v", seen, want)
		}
	}
	if s.retrieved() {
		t.Error("after restoring every patch the setting should be never-retrieved again")
	}
}

// B13, B14
func TestStub_MultipleClients(t *testing.T) {
	tests := []struct {
		name      string
		closeC1   bool
		wantWarns int
	}{
		{"B13 previous stub live warns", false, 1},
		{"B14 previous stub closed is silent", true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log1, logs1 := cvNewLogger()
			c1 := cvStubMain(t, WithLogger(log1))
			s := cvSetting(t)
			SetValue(c1, s, 10)
			if tc.closeC1 {
				if err := c1.Close(); err != nil {
					t.Fatal(err)
				}
			}
			log2, logs2 := cvNewLogger()
			c2 := cvStubMain(t, WithLogger(log2))
			if err := c2.SetDefaults(map[string]Default{"a": Static(""), "b": Static(""), "c": Static("")}); err != nil {
				t.Fatal(err)
			}
			PatchRules(t, c2, s, cvRulesX01()...)
			if n := logs2.count(slog.LevelWarn, `.+ multiple clients`); n != tc.wantWarns {
				t.Errorf("%d multiple-clients warnings, want %d", n, tc.wantWarns)
			}
			if tc.wantWarns == 0 && logs1.total()+logs2.total() != 0 {
				t.Errorf("expected no log at all, got %d + %d records", logs1.total(), logs2.total())
			}
			cvCheckGets(t, s, []cvGetCase[int64]{
				{args: map[string]string{"x": "0"}, want: 0},
				{args: map[string]string{"x": "1"}, want: 1},
				{args: map[string]string{"x": "15"}, want: -1},
			})
		})
	}
}

// B15
func TestStub_BypassesValidators(t *testing.T) {
	stub := cvStubMain(t)
	withValidators := func(s *Setting[int64]) *Setting[int64] {
		s.AddValidator(func(v int64, _ *QueriedRule, _ *Setting[int64]) (int64, error) {
			switch v {
			case 10:
				return 12, nil
			case 0:
				return 3, nil
			}
			return v, nil
		})
		s.AddValidator(func(v int64, _ *QueriedRule, _ *Setting[int64]) (int64, error) {
			if v == 12 || v == 3 {
				return 7, nil
			}
			return v, nil
		})
		return s
	}
	s := withValidators(cvSetting(t))
	// Control: the same chain on the service's update path does turn 10
	// and 0 into 7, so the raw values below really are a bypass.
	control := withValidators(cvMust(NewSetting("control", Int(), []string{"x"}, -1))(t))
	cvApply(t, control, stub, nil, "", cvRule(1, "10", "x", "a"), cvRule(2, "0", "x", "b"))
	cvCheckGets(t, control, []cvGetCase[int64]{
		{args: map[string]string{"x": "a"}, want: 7},
		{args: map[string]string{"x": "b"}, want: 7},
	})
	if err := stub.SetDefaults(map[string]Default{"a": Static(""), "b": Static(""), "c": Static("")}); err != nil {
		t.Fatal(err)
	}
	r := SetValue(stub, s, 10)
	cvCheckGets(t, s, []cvGetCase[int64]{{args: map[string]string{"x": "0"}, want: 10}})
	r()
	PatchRules(t, stub, s, StubRule[int64]{Conditions: map[string]string{"x": "0"}, Value: 0})
	cvCheckGets(t, s, []cvGetCase[int64]{
		{args: map[string]string{"x": "0"}, want: 0},
		{args: map[string]string{"x": "1"}, want: -1},
	})
}

// B16, B17, B20 (PatchValue/PatchRules restore through t.Cleanup)
func TestStub_Settings(t *testing.T) {
	for _, createdAfterMain := range []bool{false, true} {
		name := "settings created before the stub became main"
		if createdAfterMain {
			name = "settings created after the stub became main"
		}
		t.Run(name, func(t *testing.T) {
			cvFreshMain(t)
			var a, c *Setting[int64]
			var b *Setting[map[string]int64]
			create := func() {
				a = cvMust(NewSetting("a", Int(), []string{"user", "theme"}, -1))(t)
				b = cvMust(NewSetting("b", Mapping(Int()), []string{"user", "theme"}, nil))(t)
				c = cvMust(NewSetting("c", Int(), []string{"user", "theme"}, -1))(t)
			}
			if !createdAfterMain {
				create()
			}
			stub := NewStubClient()
			if err := stub.SetAsMain(context.Background()); err != nil {
				t.Fatal(err)
			}
			if createdAfterMain {
				create()
			}
			t.Run("patched", func(t *testing.T) {
				PatchValue(t, stub, a, 10)
				PatchValue(t, stub, b, map[string]int64{"t": 1, "z": 2})
				PatchRules(t, stub, c,
					StubRule[int64]{Value: 0},
					StubRule[int64]{Conditions: map[string]string{"theme": "dark"}, Value: 1},
					StubRule[int64]{Conditions: map[string]string{"user": "admin", "theme": MatchAny}, Value: 2}, // B17
				)
				ut := map[string]string{"user": "", "theme": ""}
				cvCheckGets(t, a, []cvGetCase[int64]{{args: ut, want: 10}})
				if got := cvMust(b.Get(context.Background(), ut))(t); len(got) != 2 || got["t"] != 1 || got["z"] != 2 {
					t.Errorf("b = %v", got)
				}
				cvCheckGets(t, c, []cvGetCase[int64]{
					{args: map[string]string{"user": "", "theme": ""}, want: 0},
					{args: map[string]string{"user": "", "theme": "dark"}, want: 1},
					{args: map[string]string{"user": "admin", "theme": ""}, want: 2},
					{args: map[string]string{"user": "admin", "theme": "dark"}, want: 1}, // the later feature wins
				})
				if r := cvMust(c.Lookup(context.Background(), map[string]string{"user": "admin", "theme": "x"}))(t); r.Source != SourceRule ||
					len(r.Conditions) != 1 || r.Conditions[0] != (Condition{Feature: "user", Value: "admin"}) {
					t.Errorf("B17: the explicit wildcard is not a condition: %+v", r)
				}
			})
			// B20: the patches were restored by t.Cleanup of the subtest.
			cvCheckGets(t, a, []cvGetCase[int64]{{want: -1}})
			cvCheckGets(t, c, []cvGetCase[int64]{{args: map[string]string{"user": "admin", "theme": "dark"}, want: -1}})
		})
	}
}

// B18
func TestStub_RepeatDefault(t *testing.T) {
	stub := NewStubClient()
	if err := stub.SetDefaults(map[string]Default{"a": Static("a")}); err != nil {
		t.Fatal(err)
	}
	if err := stub.SetDefaults(map[string]Default{"a": Static("a"), "b": Static("b")}); !errors.Is(err, ErrDuplicateDefault) {
		t.Fatalf("err = %v, want ErrDuplicateDefault", err)
	}
	if _, ok := stub.defaultValue(context.Background(), "b"); ok {
		t.Error("a failed SetDefaults applied part of its defaults")
	}
}

type cvCtxKey string

// B19
func TestStub_DynamicDefaults(t *testing.T) {
	stub := cvStubMain(t)
	fromCtx := func(key cvCtxKey, def string, hasDef bool) Default {
		return FromContext(func(ctx context.Context) (string, bool) {
			if v, ok := ctx.Value(key).(string); ok {
				return v, true
			}
			return def, hasDef
		})
	}
	if err := stub.SetDefaults(map[string]Default{
		"a": fromCtx("a", "", false),
		"b": fromCtx("b", "beta", true),
		"c": fromCtx("c", "charlie", true),
		"d": fromCtx("d", "", false),
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(context.WithValue(context.Background(), cvCtxKey("c"), "cookie"), cvCtxKey("d"), "delta")
	// The namespace is observed through a setting that has one rule per
	// (feature, value) of interest, plus the lazy missing-feature error.
	s := cvMust(NewSetting("ns", Str(), []string{"b", "c", "d", "a"}, "none"))(t)
	PatchRules(t, stub, s, StubRule[string]{Conditions: map[string]string{"b": "beta", "c": "cookie", "d": "delta"}, Value: "bcd"})
	got, err := s.Get(ctx, nil)
	if !errors.Is(err, ErrMissingContextFeature) {
		t.Fatalf("Get = %q, %v; want the error for a (never set, no default)", got, err)
	}
	var mfe *MissingFeatureError
	if errors.As(err, &mfe); mfe.Feature != "a" {
		t.Errorf("missing feature = %q, want a", mfe.Feature)
	}
	if got, err := s.Get(ctx, map[string]string{"a": ""}); err != nil || got != "bcd" {
		t.Errorf("Get(a=\"\") = %q, %v; want bcd (b:beta, c:cookie, d:delta)", got, err)
	}
}

func TestStub_Calls(t *testing.T) {
	stub := NewStubClient()
	ctx := context.Background()
	_ = stub.Reload(ctx)
	_ = stub.Reload(ctx)
	_ = stub.Ping(ctx)
	_ = stub.Close()
	if err := stub.TrackContexts(map[string][]string{"a": {"x"}}); err != nil {
		t.Error(err)
	}
	if got := stub.Calls(); got != (StubCalls{Reload: 2, Close: 1, Ping: 1}) {
		t.Errorf("Calls = %+v", got)
	}
	if stub.isLive() {
		t.Error("closed stub is live")
	}
}

// B7 at the stub level: a condition on a feature the setting does not
// configure is an error, and nothing changes.
func TestStub_UnknownConditionFeature(t *testing.T) {
	stub := cvStubMain(t)
	s := cvSetting(t)
	SetValue(stub, s, 5)
	_, err := SetRules(stub, s, StubRule[int64]{Conditions: map[string]string{"D": "D0"}, Value: 1})
	if !errors.Is(err, ErrNotConfigurable) {
		t.Fatalf("err = %v", err)
	}
	if v := cvMust(s.Get(context.Background(), map[string]string{"a": "", "b": "", "c": "", "x": ""}))(t); v != 5 {
		t.Errorf("value changed to %d", v)
	}
	none := cvMust(NewSetting("none", Int(), nil, 0))(t)
	if _, err := SetRules(stub, none, StubRule[int64]{Conditions: map[string]string{"a": "A0"}, Value: 1}); !errors.Is(err, ErrNotConfigurable) {
		t.Errorf("zero features, conditioned rule: %v", err)
	}
}

// B9 at the stub level: no features, two rules: the last wins and the
// conflict is logged.
func TestStub_ZeroFeatureConflict(t *testing.T) {
	log, logs := cvNewLogger()
	stub := cvStubMain(t, WithLogger(log))
	s := cvMust(NewSetting("none", Int(), nil, -1))(t)
	PatchRules(t, stub, s, StubRule[int64]{Value: 0}, StubRule[int64]{Value: 1}, StubRule[int64]{Value: 2})
	cvCheckGets(t, s, []cvGetCase[int64]{{want: 2}})
	if logs.count(slog.LevelError, `^rule conflict.+`) != 2 {
		t.Errorf("conflict ERRORs = %d, want 2", logs.count(slog.LevelError, `^rule conflict.+`))
	}
	PatchRules(t, stub, s)
	cvCheckGets(t, s, []cvGetCase[int64]{{want: -1}}) // zero rules: fallback (Go decision)
}

// cvFakeTB records what PatchRules does with its testing.TB.
type cvFakeTB struct {
	fatal    string
	cleanups []func()
}

func (f *cvFakeTB) Helper()                           {}
func (f *cvFakeTB) Cleanup(fn func())                 { f.cleanups = append(f.cleanups, fn) }
func (f *cvFakeTB) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }

func TestStub_PatchRulesFailsTheTest(t *testing.T) {
	stub := cvStubMain(t)
	s := cvSetting(t)
	tb := &cvFakeTB{}
	PatchRules(tb, stub, s, StubRule[int64]{Conditions: map[string]string{"nope": "x"}, Value: 1})
	if !strings.Contains(tb.fatal, "nope") {
		t.Errorf("Fatalf message = %q", tb.fatal)
	}
	tb = &cvFakeTB{}
	PatchValue(tb, stub, s, 4)
	if len(tb.cleanups) != 1 || tb.fatal != "" {
		t.Fatalf("PatchValue registered %d cleanups, fatal %q", len(tb.cleanups), tb.fatal)
	}
	tb.cleanups[0]()
	if s.retrieved() {
		t.Error("the cleanup did not restore the setting")
	}
}
