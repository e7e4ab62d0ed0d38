package plugintest_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/wasm"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/plugintest"
)

const (
	watExample     = "../examples/wasm-wat/plugin.wasm"
	asExample      = "../examples/wasm-assemblyscript/plugin.wasm"
	goWasmExample  = "../examples/wasm-changes/plugin.wasm"            // make wasm
	processExample = "../examples/process-changes/bin/process-changes" // make process-plugins
	watTestdata    = "../host/wasm/testdata/wat/"
)

// need skips the test when a built artefact is missing, naming the target.
func need(t testing.TB, path, target string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not built: run make %s", path, target)
	}
}

// logLines returns the plugin's logs as strings.
func logLines(p *plugintest.Plugin) []string {
	var out []string
	for _, l := range p.Logs() {
		out = append(out, l.String())
	}
	return out
}

func TestWATExample(t *testing.T) {
	settings := plugintest.NewSettings(nil, plugintest.Setting{
		Name:  "greeting",
		Rules: []event.Rule{plugintest.Rule("hello, dev", "env", "dev"), plugintest.Rule("hello, prod", "env", "prod")},
	})
	p := plugintest.New(t, watExample, plugintest.Options{Name: "wat", Settings: settings})
	if p.Kind() != plugintest.KindWasm {
		t.Fatalf("kind %q, want wasm", p.Kind())
	}
	m := p.Manifest()
	if len(m.Declarations) != 1 || m.Declarations[0].Name != "greeting" || !m.Subscriptions.Has(event.KindSettingChanged) {
		t.Fatalf("manifest %+v", m)
	}
	p.Reset()
	if err := p.SendSettingChanged(t.Context(), "motd", plugintest.Rule("hi")); err != nil {
		t.Fatal(err)
	}
	want := `INFO motd changed; greeting for env=prod: "hello, prod"`
	if got := logLines(p); !slices.Contains(got, want) {
		t.Fatalf("logs %q, want %q", got, want)
	}
	ls := p.Lookups()
	if len(ls) != 1 || ls[0].Setting != "greeting" || ls[0].Err != nil ||
		!slices.Equal(ls[0].Features, []pluginapi.Feature{{Name: "env", Value: "prod"}}) ||
		ls[0].Value.Source != pluginapi.SourceRule || string(ls[0].Value.JSON) != `"hello, prod"` {
		t.Fatalf("lookups %+v", ls)
	}
	// The WAT plugin subscribes to setting changes only: the host would not
	// deliver the other kinds.
	for name, send := range map[string]func() error{
		"declared":     func() error { return p.SendDeclared(t.Context(), "greeting", "created") },
		"update_ok":    func() error { return p.SendUpdateOK(t.Context(), "greeting") },
		"update_error": func() error { return p.SendUpdateError(t.Context(), errors.New("boom"), 1) },
		"closing":      func() error { return p.SendClosing(t.Context()) },
	} {
		if err := send(); !errors.Is(err, plugintest.ErrNotSubscribed) {
			t.Errorf("%s: %v, want ErrNotSubscribed", name, err)
		}
	}
}

// The AssemblyScript example does four things: a lookup at init, a log
// line per change, one per failed update, and a goodbye at closing.
func TestAssemblyScriptExample(t *testing.T) {
	// rate_limit is configurable by env and user; the plugin gives env, and
	// user takes the host's context default.
	settings := plugintest.NewSettings(map[string]string{"user": "guest"}, plugintest.Setting{
		Name: "rate_limit", Rules: []event.Rule{plugintest.Rule(7, "env", "prod")},
	})
	p := plugintest.New(t, asExample, plugintest.Options{Settings: settings})
	if got, want := logLines(p), "INFO rate_limit at init is 7"; !slices.Contains(got, want) {
		t.Fatalf("init logs %q, want %q", got, want)
	}
	p.Reset()
	ctx := t.Context()
	if err := p.SendSettingChanged(ctx, "rate_limit", plugintest.Rule(7, "env", "prod"), plugintest.Rule(9, "env", "prod", "user", "ann")); err != nil {
		t.Fatal(err)
	}
	if err := p.SendUpdateError(ctx, errors.New("connection refused"), 3); err != nil {
		t.Fatal(err)
	}
	if err := p.SendClosing(ctx); err != nil {
		t.Fatal(err)
	}
	got := logLines(p)
	for _, want := range []string{
		"INFO setting rate_limit changed: rules 1 -> 2; rate_limit is 7",
		"ERROR heksher update failed (3 in a row): connection refused",
		"INFO goodbye",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("logs %q lack %q", got, want)
		}
	}
	ls := p.Lookups()
	if len(ls) != 1 || ls[0].Value.Source != pluginapi.SourceRule || string(ls[0].Value.JSON) != "7" {
		t.Errorf("lookups %+v", ls)
	}
}

// Go guest built by make wasm; the declared default answers a setting the
// fake settings do not hold.
func TestGoWasmExample(t *testing.T) {
	need(t, goWasmExample, "wasm")
	// A Go guest's runtime starts in its init, which under the race
	// detector on a loaded machine has taken over the default 10 s.
	p := plugintest.New(t, goWasmExample, plugintest.Options{
		Config: json.RawMessage(`{"context":{"env":"prod"}}`), StartTimeout: 2 * time.Minute,
	})
	if err := p.SendSettingChanged(t.Context(), "motd", plugintest.Rule("x"), plugintest.Rule("y", "env", "dev")); err != nil {
		t.Fatal(err)
	}
	if got, want := logLines(p), "INFO setting motd changed: rules 0 -> 2; rate_limit is 100"; !slices.Contains(got, want) {
		t.Fatalf("logs %q, want %q", got, want)
	}
	ls := p.Lookups()
	if len(ls) == 0 || ls[len(ls)-1].Value.Source != pluginapi.SourceLocalDefault {
		t.Fatalf("lookups %+v", ls)
	}
}

func TestProcessExample(t *testing.T) {
	need(t, processExample, "process-plugins")
	out := filepath.Join(t.TempDir(), "changes.log")
	cfg, _ := json.Marshal(map[string]any{"file": out, "languages": []string{"en", "fr"}})
	p := plugintest.New(t, processExample, plugintest.Options{Config: cfg})
	if p.Kind() != plugintest.KindProcess {
		t.Fatalf("kind %q", p.Kind())
	}
	if err := p.SendSettingChanged(t.Context(), "greeting", plugintest.Rule("bonjour", "language", "fr")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := `greeting[language=fr]: "hello" -> "bonjour"`; !strings.Contains(string(b), want) {
		t.Fatalf("file %q, want %q", b, want)
	}
	var langs []string
	for _, l := range p.Lookups() {
		if l.Err != nil {
			t.Errorf("lookup %+v", l)
		}
		langs = append(langs, l.Features[0].Value)
	}
	if !slices.Contains(langs, "en") || !slices.Contains(langs, "fr") {
		t.Errorf("looked up %v, want en and fr", langs)
	}
	if err := p.SendClosing(t.Context()); !errors.Is(err, plugintest.ErrNotSubscribed) {
		t.Errorf("closing: %v, want ErrNotSubscribed", err)
	}
}

// A rule whose value is not of the declared type is refused, as the host's
// client refuses it: the plugin gets the declared default, and the lookup
// lists the refused value.
func TestValueOfWrongTypeIsRefused(t *testing.T) {
	settings := plugintest.NewSettings(nil, plugintest.Setting{
		Name: "greeting", Rules: []event.Rule{plugintest.Rule(5, "env", "prod")},
	})
	p := plugintest.New(t, watExample, plugintest.Options{Settings: settings})
	if err := p.SendSettingChanged(t.Context(), "motd"); err != nil {
		t.Fatal(err)
	}
	ls := p.Lookups()
	if len(ls) != 1 || string(ls[0].Value.JSON) != `"hello"` || ls[0].Value.Source != pluginapi.SourceLocalDefault ||
		len(ls[0].Rejected) != 1 || string(ls[0].Rejected[0].Value) != "5" {
		t.Fatalf("lookups %+v", ls)
	}
}

// A guest that traps on an event: the trap is what Send returns, and the
// runtime's line about it is in the logs.
func TestTrapIsReturned(t *testing.T) {
	p := plugintest.New(t, watTestdata+"trap.wasm", plugintest.Options{Config: json.RawMessage(`"cfg"`)})
	err := p.SendSettingChanged(t.Context(), "x")
	var ce *wasm.CallError
	if !errors.As(err, &ce) {
		t.Fatalf("Send: %v, want a *wasm.CallError", err)
	}
	if st := p.Status(); st.Errors != 1 {
		t.Errorf("status errors %d, want 1", st.Errors)
	}
}

// A guest that loops forever in a handler is stopped at its deadline, and
// Send returns within the promise.
func TestHangIsStopped(t *testing.T) {
	p := plugintest.New(t, watTestdata+"loop.wasm", plugintest.Options{Deadline: 200 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- p.SendSettingChanged(context.Background(), "x") }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Send of a looping guest returned nil")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Send of a looping guest did not return within 5 s")
	}
}

// Modules that break the ABI do not load, and say so.
func TestInvalidModules(t *testing.T) {
	for _, name := range []string{"unknown_import", "missing_export", "abi_v2", "wrong_signature"} {
		_, err := plugintest.Open(t.Context(), watTestdata+name+".wasm", plugintest.Options{})
		if !errors.Is(err, wasm.ErrInvalidModule) {
			t.Errorf("%s: %v, want ErrInvalidModule", name, err)
		}
	}
	if _, err := plugintest.Open(t.Context(), watExample, plugintest.Options{SHA256: strings.Repeat("0", 64)}); err == nil {
		t.Error("a wrong checksum loaded")
	}
}

// A file that is neither wasm nor executable is refused.
func TestNotAPlugin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, []byte("not a plugin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := plugintest.Open(ctx, path, plugintest.Options{}); err == nil {
		t.Fatal("a text file started as a plugin")
	}
}

func TestSettingsResolution(t *testing.T) {
	s := plugintest.NewSettings(map[string]string{"env": "prod"}, plugintest.Setting{
		Name:                 "limit",
		ConfigurableFeatures: []string{"env", "user"},
		Default:              json.RawMessage(`5`),
		Rules: []event.Rule{
			plugintest.Rule(1, "user", "ann"),
			plugintest.Rule(2, "env", "prod"),
			plugintest.Rule(3, "env", "prod", "user", "ann"),
		},
	})
	// The deeper last condition wins: user (the second feature) over env.
	s.Set(plugintest.Setting{Name: "order", ConfigurableFeatures: []string{"env", "user"},
		Rules: []event.Rule{plugintest.Rule(10, "env", "prod"), plugintest.Rule(20, "user", "ann")}})
	ctx := t.Context()
	if v, err := s.Lookup(ctx, "p", "order", []pluginapi.Feature{{Name: "user", Value: "ann"}}); err != nil || string(v.JSON) != "20" {
		t.Errorf("order: %s %v, want 20", v.JSON, err)
	}
	for _, c := range []struct {
		features []pluginapi.Feature
		want     string
		source   pluginapi.Source
	}{
		{[]pluginapi.Feature{{Name: "user", Value: "bob"}}, "2", pluginapi.SourceRule},
		{[]pluginapi.Feature{{Name: "user", Value: "ann"}}, "3", pluginapi.SourceRule},
		{[]pluginapi.Feature{{Name: "env", Value: "dev"}, {Name: "user", Value: "ann"}}, "1", pluginapi.SourceRule},
		{[]pluginapi.Feature{{Name: "env", Value: "dev"}, {Name: "user", Value: "bob"}}, "5", pluginapi.SourceServerDefault},
	} {
		v, err := s.Lookup(ctx, "p", "limit", c.features)
		if err != nil || string(v.JSON) != c.want || v.Source != c.source {
			t.Errorf("%v: %s %v %v, want %s %v", c.features, v.JSON, v.Source, err, c.want, c.source)
		}
	}
	// A missing feature: user has no value, and the rule on user alone
	// (no condition before user) is reached, so the lookup fails.
	if _, err := s.Lookup(ctx, "p", "limit", nil); !errors.Is(err, pluginapi.ErrBadContext) {
		t.Errorf("missing user: %v", err)
	}
	// When no rule's conditions before the missing feature match, no rule
	// is reached and a default answers.
	s.Set(plugintest.Setting{Name: "envonly", ConfigurableFeatures: []string{"env", "user"},
		Rules: []event.Rule{plugintest.Rule(1, "env", "prod", "user", "ann")}, Default: json.RawMessage(`0`)})
	if v, err := s.Lookup(ctx, "p", "envonly", []pluginapi.Feature{{Name: "env", Value: "dev"}}); err != nil || string(v.JSON) != "0" {
		t.Errorf("missing user, no rule reached: %s %v", v.JSON, err)
	}
	if _, err := s.Lookup(ctx, "p", "envonly", []pluginapi.Feature{{Name: "env", Value: "prod"}}); !errors.Is(err, pluginapi.ErrBadContext) {
		t.Errorf("missing user, a rule reached: %v", err)
	}
	if _, err := s.Lookup(ctx, "p", "limit", []pluginapi.Feature{{Name: "theme", Value: "dark"}}); !errors.Is(err, pluginapi.ErrBadContext) {
		t.Errorf("unknown feature: %v", err)
	}
	if _, err := s.Lookup(ctx, "p", "nope", nil); !errors.Is(err, pluginapi.ErrNotFound) {
		t.Errorf("unknown setting: %v", err)
	}
	s.Declare([]pluginapi.Declaration{{Name: "other", Default: json.RawMessage(`"d"`)}})
	if _, err := s.Lookup(ctx, "p", "limit", nil); !errors.Is(err, pluginapi.ErrNotDeclared) {
		t.Errorf("undeclared: %v", err)
	}
	if v, err := s.Lookup(ctx, "p", "other", nil); err != nil || v.Source != pluginapi.SourceLocalDefault {
		t.Errorf("declared default: %+v %v", v, err)
	}
	if n := len(s.Lookups()); n != 12 {
		t.Errorf("%d lookups recorded, want 12", n)
	}
}

// Options.Logger receives the plugin's lines too.
func TestLoggerPassesOn(t *testing.T) {
	var b strings.Builder
	log := slog.New(slog.NewTextHandler(&b, nil))
	p := plugintest.New(t, asExample, plugintest.Options{Logger: log})
	_ = p.SendClosing(t.Context())
	if !strings.Contains(b.String(), "goodbye") {
		t.Fatalf("logger got %q", b.String())
	}
}

// A process plugin that floods its log from init on until it is killed:
// the plugin keeps MaxLogLines lines and counts the rest, so the test's
// memory stays bounded however long the flood lasts.
func TestLogFloodIsCapped(t *testing.T) {
	const flood = "../host/process/testdata/bin/flood"
	need(t, flood, "process-plugins")
	p := plugintest.New(t, flood, plugintest.Options{Config: json.RawMessage(`{"mode":"hclog"}`), MaxLogLines: 100})
	deadline := time.Now().Add(10 * time.Second)
	for p.LogsDropped() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no line dropped within 10 s; %d kept", len(p.Logs()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(p.Logs()); n != 100 {
		t.Fatalf("%d lines kept, want 100", n)
	}
	p.Reset()
	if p.LogsDropped() != 0 || len(p.Logs()) > 100 {
		t.Fatalf("after Reset: %d kept, %d dropped", len(p.Logs()), p.LogsDropped())
	}
}

// Lookups say where the rules came from: the service unless the test says
// otherwise (a host serving its snapshot), a Setting's own Origin first, and
// the declared default of a setting held nowhere is the defaults' (they
// answered "unknown" before).
func TestSettingsOrigin(t *testing.T) {
	s := plugintest.NewSettings(nil,
		plugintest.Setting{Name: "limit", Rules: []event.Rule{plugintest.Rule(1, "env", "prod")}, Default: json.RawMessage(`5`)},
		plugintest.Setting{Name: "pinned", Default: json.RawMessage(`1`), Origin: pluginapi.OriginDefaults})
	s.Declare([]pluginapi.Declaration{
		{Name: "limit", Type: "int", ConfigurableFeatures: []string{"env"}, Default: json.RawMessage(`0`)},
		{Name: "pinned", Type: "int", ConfigurableFeatures: []string{"env"}, Default: json.RawMessage(`0`)},
		{Name: "local", Type: "int", ConfigurableFeatures: []string{"env"}, Default: json.RawMessage(`7`)},
	})
	prod := []pluginapi.Feature{{Name: "env", Value: "prod"}}
	tests := []struct {
		name    string
		origin  pluginapi.Origin // 0: not set
		setting string
		want    pluginapi.Origin
	}{
		{"a rule, by default", 0, "limit", pluginapi.OriginService},
		{"the setting's own origin", 0, "pinned", pluginapi.OriginDefaults},
		{"a setting held nowhere", 0, "local", pluginapi.OriginDefaults},
		{"a rule from the snapshot", pluginapi.OriginSnapshot, "limit", pluginapi.OriginSnapshot},
		{"the setting's own origin, snapshot set", pluginapi.OriginSnapshot, "pinned", pluginapi.OriginDefaults},
		{"a setting held nowhere, snapshot set", pluginapi.OriginSnapshot, "local", pluginapi.OriginDefaults},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.SetOrigin(pluginapi.OriginService)
			if tc.origin != 0 {
				s.SetOrigin(tc.origin)
			}
			v, err := s.Lookup(t.Context(), "p", tc.setting, prod)
			if err != nil || v.Origin != tc.want {
				t.Errorf("%s: origin %v (%+v, %v), want %v", tc.setting, v.Origin, v, err, tc.want)
			}
		})
	}
}
