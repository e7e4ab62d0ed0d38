package heksher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/heksher-go/heksher/internal/wire"
)

// cvRule builds a query-answer rule: id, value JSON, then feature/value pairs.
func cvRule(id int64, value string, kv ...string) wire.QueryRule {
	r := wire.QueryRule{RuleID: id, Value: json.RawMessage(value), ContextFeatures: [][]string{}}
	for i := 0; i < len(kv); i += 2 {
		r.ContextFeatures = append(r.ContextFeatures, []string{kv[i], kv[i+1]})
	}
	return r
}

// cvApply runs the update path for one setting as the client does: prepare,
// then commit.
func cvApply[T any](t *testing.T, s *Setting[T], from supplier, log *slog.Logger, def string, rules ...wire.QueryRule) preparedUpdate {
	t.Helper()
	var d json.RawMessage
	if def != "" {
		d = json.RawMessage(def)
	}
	u, err := s.prepareUpdate(from, rules, d, log)
	if err != nil {
		t.Fatalf("prepareUpdate: %v", err)
	}
	u.commit()
	return u
}

func cvColorFlags(t *testing.T, def FlagSet, opts ...SettingOption) *Setting[FlagSet] {
	t.Helper()
	return cvMust(NewSetting("color", Flags("blue", "red", "green"), []string{"a", "b", "c"}, def, opts...))(t)
}

func cvGetFlags(t *testing.T, s *Setting[FlagSet], args map[string]string) string {
	t.Helper()
	v, err := s.Get(context.Background(), args)
	if err != nil {
		t.Fatalf("Get(%v): %v", args, err)
	}
	return v.String()
}

var cvABC = func(a string) map[string]string { return map[string]string{"a": a, "b": "", "c": ""} }

// B42
func TestUpdate_ServerDefaultWins(t *testing.T) {
	cvFreshMain(t)
	stub := NewStubClient()
	s := cvMust(NewSetting("cache_size", Int(), []string{"b", "c"}, 50))(t)
	u := cvApply(t, s, stub, nil, "100")
	r := cvMust(s.Lookup(context.Background(), map[string]string{"b": "", "c": ""}))(t)
	if r.Value != 100 || r.Source != SourceServerDefault || !r.Retrieved {
		t.Errorf("Lookup = %+v, want 100 from the server default", r)
	}
	if _, _, changed := u.changed(); !changed {
		t.Error("first update with a default did not report a change")
	}
}

// B62, B2.7: a rejected server default keeps the previous one.
func TestUpdate_RejectedDefaultKeepsPrevious(t *testing.T) {
	cvFreshMain(t)
	stub := NewStubClient()
	log, logs := cvNewLogger()
	s := cvMust(NewSetting("cache_size", Int(), []string{"b"}, 50))(t)
	cvApply(t, s, stub, log, "100")
	u := cvApply(t, s, stub, log, `"not an int"`)
	if v := cvMust(s.Get(context.Background(), map[string]string{"b": ""}))(t); v != 100 {
		t.Errorf("Get = %d, want the previous server default 100", v)
	}
	if logs.count(slog.LevelWarn, `^setting default value discarded default due to conversion error$`) != 1 {
		t.Error("no WARN for the discarded default")
	}
	rej := u.rejected()
	if len(rej) != 1 || !rej[0].Default || string(rej[0].Value) != `"not an int"` || rej[0].Setting != "cache_size" {
		t.Errorf("rejected = %+v", rej)
	}
	if _, _, changed := u.changed(); changed {
		t.Error("nothing changed, but changed() says so")
	}
}

// B45, B46: rule values converted, coerced values logged.
func TestUpdate_FlagsCoerce(t *testing.T) {
	cvFreshMain(t)
	stub := NewStubClient()
	log, logs := cvNewLogger()
	s := cvColorFlags(t, NewFlagSet())
	cvApply(t, s, stub, log, `["white"]`, cvRule(1, `["green","blue","white"]`))
	if got := cvGetFlags(t, s, cvABC("")); got != "blue|green" {
		t.Errorf("Get = %s, want blue|green", got)
	}
	if logs.count(slog.LevelInfo, `^setting update coerced values$`) != 1 {
		t.Error(`no INFO "setting update coerced values"`)
	}
	if logs.count(slog.LevelWarn, `.+ coerced .+`) != 1 {
		t.Error(`no WARN matching ".+ coerced .+" for the default`)
	}
}

// B47, B49: coerced server defaults.
func TestUpdate_FlagsCoerceDefault(t *testing.T) {
	tests := []struct {
		name, def, want string
	}{
		{"B47 white and blue", `["white","blue"]`, "blue"},
		{"B49 unknown only gives the empty set", `["blank"]`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cvFreshMain(t)
			log, logs := cvNewLogger()
			s := cvColorFlags(t, NewFlagSet("green"))
			cvApply(t, s, NewStubClient(), log, tc.def, cvRule(1, `["red"]`, "a", "f"))
			if got := cvGetFlags(t, s, cvABC("re")); got != tc.want {
				t.Errorf("Get(a=re) = %q, want %q", got, tc.want)
			}
			if logs.count(slog.LevelWarn, `.+ default value coerced .+`) != 1 {
				t.Error(`no WARN ".+ default value coerced .+"`)
			}
		})
	}
}

// B48, B50: rejected rules.
func TestUpdate_RejectedRules(t *testing.T) {
	tests := []struct {
		name   string
		rule   wire.QueryRule
		reason string
	}{
		{"B48 non-string element", cvRule(2, `["green","blue",["abc"]]`, "a", "y"), "expected string in flags"},
		{"B50 unrecognized feature", cvRule(2, `["red"]`, "a", "x", "z", "foo"), "rule refers to unrecognized features"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cvFreshMain(t)
			log, logs := cvNewLogger()
			s := cvColorFlags(t, NewFlagSet())
			u := cvApply(t, s, NewStubClient(), log, `[]`, cvRule(1, `["green","blue"]`, "a", "x"), tc.rule)
			if got := cvGetFlags(t, s, cvABC("x")); got != "blue|green" {
				t.Errorf("Get(a=x) = %s", got)
			}
			if logs.count(slog.LevelWarn, `.+ rejected .+`) != 1 {
				t.Error(`no WARN ".+ rejected .+"`)
			}
			rej := u.rejected()
			if len(rej) != 1 || rej[0].RuleID != 2 || rej[0].Default || !strings.Contains(rej[0].Reason, tc.reason) {
				t.Errorf("rejected = %+v", rej)
			}
			if rs := s.RuleSet(); len(rs.Rules) != 1 || rs.Rules[0].ID != 1 {
				t.Errorf("RuleSet = %+v", rs)
			}
		})
	}
}

// B51
func TestUpdate_Validator(t *testing.T) {
	cvFreshMain(t)
	s := cvColorFlags(t, NewFlagSet())
	var sawDefault, sawRule bool
	s.AddValidator(func(v FlagSet, rule *QueriedRule, got *Setting[FlagSet]) (FlagSet, error) {
		if got != s {
			return v, errors.New("wrong setting")
		}
		if rule == nil {
			sawDefault = true
		} else if rule.ID == 1 && len(rule.Conditions) == 1 && rule.Conditions[0] == (Condition{Feature: "a", Value: "x"}) {
			sawRule = true
		}
		return v.With("red"), nil
	})
	cvApply(t, s, NewStubClient(), nil, `[]`, cvRule(1, `["green","blue"]`, "a", "x"))
	if got := cvGetFlags(t, s, cvABC("x")); got != "blue|green|red" {
		t.Errorf("Get(a=x) = %s", got)
	}
	if got := cvGetFlags(t, s, cvABC("y")); got != "red" {
		t.Errorf("Get(a=y) = %s", got)
	}
	if !sawDefault || !sawRule {
		t.Errorf("validator saw default %v, rule %v", sawDefault, sawRule)
	}
	// The JSON view carries the validated value, not the server's.
	jr := cvMust(s.LookupJSON(context.Background(), cvABC("x")))(t)
	if string(jr.Value) != `["blue","red","green"]` || jr.Source != SourceRule || jr.RuleID != 1 {
		t.Errorf("LookupJSON = %+v (%s)", jr, jr.Value)
	}
}

func TestUpdate_ValidatorRejects(t *testing.T) {
	cvFreshMain(t)
	log, logs := cvNewLogger()
	s := cvMust(NewSetting("n", Int(), []string{"a"}, 1))(t)
	s.AddValidator(func(v int64, _ *QueriedRule, _ *Setting[int64]) (int64, error) {
		if v < 0 {
			return v, fmt.Errorf("negative %d", v)
		}
		return v * 2, nil
	})
	u := cvApply(t, s, NewStubClient(), log, "-5", cvRule(1, "-1", "a", "x"), cvRule(2, "3", "a", "y"))
	if len(u.rejected()) != 2 {
		t.Errorf("rejected = %+v", u.rejected())
	}
	cvCheckGets(t, s, []cvGetCase[int64]{
		{args: map[string]string{"a": "x"}, want: 1}, // rule dropped, default discarded: local default
		{args: map[string]string{"a": "y"}, want: 6},
	})
	if logs.count(slog.LevelWarn, `^setting update rejected rules$`) != 1 {
		t.Error("no WARN for the rejected rule")
	}
}

// heksher-py's on_coerce and Q-REJECT-COERCE.
func TestUpdate_OnCoerce(t *testing.T) {
	tests := []struct {
		name string
		opt  SettingOption
		want string // Get(a=x); "" = rejected (local default "green")
	}{
		{"default accepts the coerced value", nil, "blue"},
		{"hook replaces the value", WithOnCoerce(func(v FlagSet, raw json.RawMessage, cs []string, r *QueriedRule) (FlagSet, error) {
			if string(raw) != `["blue","white"]` || len(cs) != 1 || r == nil || r.ID != 1 {
				return v, errors.New("unexpected hook arguments")
			}
			return NewFlagSet("red"), nil
		}), "red"},
		{"hook rejects", WithOnCoerce(func(v FlagSet, _ json.RawMessage, _ []string, _ *QueriedRule) (FlagSet, error) {
			return v, errors.New("no thanks")
		}), "green"},
		{"Q-REJECT-COERCE reject coercions is a clean rejection", RejectCoercions(), "green"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cvFreshMain(t)
			var opts []SettingOption
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			s := cvColorFlags(t, NewFlagSet("green"), opts...)
			u := cvApply(t, s, NewStubClient(), nil, "", cvRule(1, `["blue","white"]`, "a", "x"), cvRule(2, `["red"]`, "a", "y"))
			if got := cvGetFlags(t, s, cvABC("x")); got != tc.want {
				t.Errorf("Get(a=x) = %q, want %q", got, tc.want)
			}
			if got := cvGetFlags(t, s, cvABC("y")); got != "red" {
				t.Errorf("a clean rule was affected: %q", got)
			}
			if (tc.want == "green") != (len(u.rejected()) == 1) {
				t.Errorf("rejected = %+v", u.rejected())
			}
		})
	}
}

// A panicking validator fails the whole update; the last values stay.
func TestUpdate_PanickingValidator(t *testing.T) {
	cvFreshMain(t)
	s := cvMust(NewSetting("n", Int(), []string{"a"}, 1))(t)
	cvApply(t, s, NewStubClient(), nil, "", cvRule(1, "5", "a", "x"))
	s.AddValidator(func(v int64, _ *QueriedRule, _ *Setting[int64]) (int64, error) { panic("boom") })
	_, err := s.prepareUpdate(NewStubClient(), []wire.QueryRule{cvRule(1, "7", "a", "x")}, nil, nil)
	var pe *PanicError
	if !errors.As(err, &pe) || !errors.Is(err, ErrPanic) || pe.Value != "boom" || pe.Setting != "n" {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.applyDeclaredDefault(json.RawMessage("9"), nil); !errors.Is(err, ErrPanic) {
		t.Errorf("applyDeclaredDefault err = %v", err)
	}
	cvCheckGets(t, s, []cvGetCase[int64]{{args: map[string]string{"a": "x"}, want: 5}})
}

// "Really changed" compares rules and server defaults by wire JSON.
func TestUpdate_Changed(t *testing.T) {
	cvFreshMain(t)
	stub := NewStubClient()
	s := cvMust(NewSetting("n", Int(), []string{"a"}, 1))(t)
	steps := []struct {
		name    string
		def     string
		rules   []wire.QueryRule
		changed bool
	}{
		{"first answer", "10", []wire.QueryRule{cvRule(1, "5", "a", "x")}, true},
		{"same answer, other spacing", "10", []wire.QueryRule{cvRule(1, " 5 ", "a", "x")}, false},
		{"default changes", "11", []wire.QueryRule{cvRule(1, "5", "a", "x")}, true},
		{"rule value changes", "11", []wire.QueryRule{cvRule(1, "6", "a", "x")}, true},
		{"rule added", "11", []wire.QueryRule{cvRule(1, "6", "a", "x"), cvRule(2, "7", "a", "y")}, true},
		{"no default in the answer keeps it", "", []wire.QueryRule{cvRule(1, "6", "a", "x"), cvRule(2, "7", "a", "y")}, false},
	}
	for _, st := range steps {
		u := cvApply(t, s, stub, nil, st.def, st.rules...)
		old, nu, changed := u.changed()
		if changed != st.changed {
			t.Errorf("%s: changed = %v, want %v (old %+v new %+v)", st.name, changed, st.changed, old, nu)
		}
		if !nu.Retrieved || len(nu.Rules) != len(st.rules) {
			t.Errorf("%s: new rule set = %+v", st.name, nu)
		}
	}
}

// B8 through the update path, and B9 for a setting without features.
func TestUpdate_Conflicts(t *testing.T) {
	cvFreshMain(t)
	log, logs := cvNewLogger()
	s := cvMust(NewSetting("n", Int(), []string{"a", "b", "c"}, -1))(t)
	// B8: the rules of B4 plus a second (a=A0)→5.
	cvApply(t, s, NewStubClient(), log, "",
		cvRule(1, "0"), cvRule(2, "1", "a", "A0"), cvRule(3, "2", "a", "A0", "b", "B0"), cvRule(4, "3", "b", "B1"),
		cvRule(5, "5", "a", "A0"))
	if logs.count(slog.LevelError, `^rule conflict.+`) != 1 {
		t.Error("no rule-conflict ERROR")
	}
	ns := func(a, b string) map[string]string { return map[string]string{"a": a, "b": b, "c": ""} }
	cvCheckGets(t, s, []cvGetCase[int64]{
		{args: ns("A0", ""), want: 5}, // the (a=A0) leaf holds the later value
		{args: ns("A0", "B0"), want: 2},
		{args: ns("A1", "B1"), want: 3},
		{args: ns("A1", "B0"), want: 0},
	})
	z := cvMust(NewSetting("z", Int(), nil, -1))(t)
	cvApply(t, z, NewStubClient(), log, "", cvRule(1, "0"), cvRule(2, "1"))
	if logs.count(slog.LevelError, `^rule conflict, overlapping values for context in service without context features$`) != 1 {
		t.Error("no zero-feature rule-conflict ERROR")
	}
	cvCheckGets(t, z, []cvGetCase[int64]{{want: 1}})
}

// Conditions in an order other than the setting's features (3.1 Go
// decision): re-ordered, never an error.
func TestUpdate_ConditionOrder(t *testing.T) {
	cvFreshMain(t)
	s := cvMust(NewSetting("n", Int(), []string{"b", "a"}, -1))(t)
	cvApply(t, s, NewStubClient(), nil, "", cvRule(1, "1", "a", "x", "b", "y"), cvRule(2, "2", "b", "y"))
	cvCheckGets(t, s, []cvGetCase[int64]{
		{args: map[string]string{"a": "x", "b": "y"}, want: 1},
		{args: map[string]string{"a": "q", "b": "y"}, want: 2},
	})
	r := cvMust(s.Lookup(context.Background(), map[string]string{"a": "x", "b": "y"}))(t)
	if len(r.Conditions) != 2 || r.Conditions[0].Feature != "a" {
		t.Errorf("conditions are reported in the server's order: %+v", r.Conditions)
	}
}

// B38, B39: an outdated declaration's default becomes the server default
// before any rule set.
func TestUpdate_DeclaredDefault(t *testing.T) {
	cvFreshMain(t)
	s := cvMust(NewSetting("cache_size", Int(), []string{"b", "c"}, 50))(t)
	if cs, err := s.applyDeclaredDefault(json.RawMessage("100"), nil); err != nil || len(cs) != 0 {
		t.Fatalf("applyDeclaredDefault = %v, %v", cs, err)
	}
	r := cvMust(s.Lookup(context.Background(), map[string]string{"b": "", "c": ""}))(t)
	if r.Value != 100 || r.Source != SourceServerDefault || r.Retrieved {
		t.Errorf("Lookup = %+v", r)
	}
	if _, err := s.applyDeclaredDefault(json.RawMessage("1.5"), nil); !errors.Is(err, ErrRejected) {
		t.Errorf("rejected default: %v", err)
	}
	cvCheckGets(t, s, []cvGetCase[int64]{{args: map[string]string{"b": "", "c": ""}, want: 100}})
	f := cvColorFlags(t, NewFlagSet("green"))
	cs, err := f.applyDeclaredDefault(json.RawMessage(`["white","blue"]`), nil)
	if err != nil || len(cs) != 1 {
		t.Errorf("coerced declared default: %v, %v", cs, err)
	}
	if got := cvGetFlags(t, f, cvABC("")); got != "blue" {
		t.Errorf("Get = %s", got)
	}
}

// A new supplier replacing a live one's rule set warns (heksher-py's text).
func TestUpdate_MultipleClients(t *testing.T) {
	cvFreshMain(t)
	log, logs := cvNewLogger()
	s := cvMust(NewSetting("n", Int(), []string{"a"}, -1))(t)
	first, second := NewStubClient(), NewStubClient()
	cvApply(t, s, first, log, "1")
	cvApply(t, s, second, log, "1")
	if logs.count(slog.LevelWarn, `^setting received rule set from multiple clients$`) != 1 {
		t.Error("no multiple-clients WARN")
	}
	_ = second.Close()
	cvApply(t, s, first, log, "1")
	if logs.count(slog.LevelWarn, `^setting received rule set from multiple clients$`) != 1 {
		t.Error("warned although the previous supplier was closed")
	}
}

// Validators may be added while updates run (race detector).
func TestUpdate_AddValidatorConcurrently(t *testing.T) {
	cvFreshMain(t)
	s := cvMust(NewSetting("n", Int(), []string{"a"}, 1))(t)
	stub := NewStubClient()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			s.AddValidator(func(v int64, _ *QueriedRule, _ *Setting[int64]) (int64, error) { return v, nil })
		}
	}()
	for i := range 50 {
		cvApply(t, s, stub, nil, "1", cvRule(1, strconv.Itoa(i), "a", "x"))
	}
	<-done
	if n := len(s.validators()); n != 50 {
		t.Errorf("%d validators, want 50", n)
	}
}
