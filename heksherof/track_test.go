package heksherof_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/heksherof"
	"github.com/heksher-go/heksher/hekshertest"
	"github.com/open-feature/go-sdk/openfeature"
)

// noDeclaration fails if the client ever sent a declaration (or any other
// write) to the service.
func noDeclaration(t *testing.T, srv *hekshertest.Server) {
	t.Helper()
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, "/settings/declare") || r.Method == http.MethodPut || r.Method == http.MethodPost {
			t.Fatalf("the client sent %s %s (body %s): a read-only setting must not be declared", r.Method, r.Path, r.Body)
		}
	}
}

// Settings that another service owns, named in the options, are answered
// through the go-sdk with the service's types and rules, and never
// declared.
func TestTrackedSettingsReadOnlyThroughTheSDK(t *testing.T) {
	t.Parallel()
	n := func(s string) string { return uniq(t, s) }
	w := newWorld(t, func(*heksher.Client) {}, heksherof.WithTargetingFeature("user"),
		heksherof.WithTrackedSettings(n("size"), n("banner")), heksherof.WithTrackedSettingType(n("ratio"), "float"))
	for _, s := range []hekshertest.Setting{
		{Name: n("size"), Type: "int", Default: 50, ConfigurableFeatures: []string{"user", "theme"}, Version: "1.0"},
		{Name: n("banner"), Type: `Enum["hi","hello"]`, Default: "hi", ConfigurableFeatures: []string{"user"}, Version: "1.0"},
		{Name: n("ratio"), Type: "int", Default: 1, ConfigurableFeatures: []string{"user"}, Version: "1.0"},
	} {
		if err := w.srv.Declare(s); err != nil {
			t.Fatal(err)
		}
	}
	ruleID := must(w.srv.AddRule(n("size"), map[string]string{"user": "alice", "theme": "dark"}, 7))(t)
	must(w.srv.AddRule(n("banner"), map[string]string{"user": "alice"}, "hello"))(t)
	must(w.srv.AddRule(n("ratio"), map[string]string{"user": "alice"}, 3))(t)
	w.srv.ResetRequests()
	w.start(t)
	if err := w.client.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	alice := openfeature.NewEvaluationContext("alice", map[string]any{"theme": "dark"})
	i := must(w.of.IntValueDetails(ctx, n("size"), 0, alice))(t)
	if i.Value != 7 || i.Reason != openfeature.TargetingMatchReason || i.Variant != fmt.Sprint(ruleID) {
		t.Errorf("int: %+v", i)
	}
	if s := must(w.of.StringValueDetails(ctx, n("banner"), "", alice))(t); s.Value != "hello" {
		t.Errorf("enum: %+v", s)
	}
	// The caller's type: the service's int is evaluated as a float, and
	// an int evaluation is a type mismatch.
	if f := must(w.of.FloatValueDetails(ctx, n("ratio"), 0, alice))(t); f.Value != 3 {
		t.Errorf("float: %+v", f)
	}
	if d, err := w.of.IntValueDetails(ctx, n("ratio"), 0, alice); err == nil || d.ErrorCode != openfeature.TypeMismatchCode {
		t.Errorf("int evaluation of a float setting: %+v, %v; want TYPE_MISMATCH", d, err)
	}
	bob := openfeature.NewEvaluationContext("bob", map[string]any{"theme": "light"})
	if d := must(w.of.IntValueDetails(ctx, n("size"), 0, bob))(t); d.Value != 50 || d.Reason != openfeature.DefaultReason {
		t.Errorf("server default: %+v", d)
	}
	// A rule changed on the service reaches the flag.
	if err := w.srv.SetRuleValue(ruleID, 8); err != nil {
		t.Fatal(err)
	}
	if err := w.client.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := must(w.of.IntValueDetails(ctx, n("size"), 0, alice))(t); d.Value != 8 {
		t.Errorf("after the rule changed: %+v", d)
	}
	noDeclaration(t, w.srv)
}

// Every setting of the service is answered with WithAllServiceSettings;
// a setting declared in Go stays as declared.
func TestAllServiceSettingsThroughTheSDK(t *testing.T) {
	t.Parallel()
	n := func(s string) string { return uniq(t, s) }
	w := newWorld(t, func(c *heksher.Client) {
		decl(t, heksher.WithClient(c), n("mine"), heksher.Int(), []string{"user"}, 1)
	}, heksherof.WithTargetingFeature("user"), heksherof.WithAllServiceSettings())
	if err := w.srv.Declare(hekshertest.Setting{Name: n("theirs"), Type: "bool", Default: false, ConfigurableFeatures: []string{"user"}, Version: "1.0"}); err != nil {
		t.Fatal(err)
	}
	must(w.srv.AddRule(n("theirs"), map[string]string{"user": "alice"}, true))(t)
	w.start(t)
	if err := w.client.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	alice := openfeature.NewEvaluationContext("alice", nil)
	if b := must(w.of.BooleanValueDetails(t.Context(), n("theirs"), false, alice))(t); !b.Value || b.Reason != openfeature.TargetingMatchReason {
		t.Errorf("theirs: %+v", b)
	}
	if i := must(w.of.IntValueDetails(t.Context(), n("mine"), 0, alice))(t); i.Value != 1 || i.Reason != openfeature.DefaultReason {
		t.Errorf("mine: %+v", i)
	}
}

// A tracked name the service does not know fails Init clearly, and its
// key is FLAG_NOT_FOUND.
func TestTrackedUnknownSettingFailsInit(t *testing.T) {
	t.Parallel()
	n := func(s string) string { return uniq(t, s) }
	w := newWorld(t, func(*heksher.Client) {}, heksherof.WithTrackedSettings(n("nope")))
	err := w.p.Init(openfeature.NewEvaluationContext("", nil))
	if !errors.Is(err, heksher.ErrUnknownSetting) || !strings.Contains(err.Error(), n("nope")) {
		t.Fatalf("Init = %v, want an error matching heksher.ErrUnknownSetting naming %s", err, n("nope"))
	}
	if err := w.api.SetProviderAndWait(t.Context(), w.p); err == nil {
		t.Fatal("SetProviderAndWait succeeded with an unknown tracked setting")
	}
	of := w.api.NewClient()
	if d, err := of.IntValueDetails(t.Context(), n("nope"), 0, openfeature.NewEvaluationContext("", nil)); err == nil || d.ErrorCode == "" {
		t.Fatalf("unknown tracked key: %+v, %v; want an error", d, err)
	}
	noDeclaration(t, w.srv)
	// No client at all: a clear error too.
	if err := heksherof.New(heksherof.WithTrackedSettings("x")).Init(openfeature.NewEvaluationContext("", nil)); !errors.Is(err, heksherof.ErrNoClient) {
		t.Fatalf("Init without a client = %v, want ErrNoClient", err)
	}
}
