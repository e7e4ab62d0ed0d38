package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
)

// The AssemblyScript modules (mk/assemblyscript.mk): committed, and rebuilt
// from their sources when Node is installed.
const (
	asPluginWasm = "../../examples/wasm-assemblyscript/plugin.wasm"
	asGuestWasm  = "../../sdk/assemblyscript/testdata/guest.wasm"
)

// asNotFoundSettings answers NOT_FOUND for every setting, as a host that has
// not registered the plugin's declarations yet would.
type asNotFoundSettings struct{}

func (asNotFoundSettings) Lookup(_ context.Context, _, setting string, _ []pluginapi.Feature) (pluginapi.Value, error) {
	return pluginapi.Value{}, fmt.Errorf("setting %q: %w", setting, pluginapi.ErrNotFound)
}

func asClosing() event.Delivery {
	seq := seqs.Add(1)
	return event.Delivery{Seq: seq, Event: &event.Closing{Header: event.Header{Seq: seq}}}
}

func asUpdateError(n int, msg string) event.Delivery {
	seq := seqs.Add(1)
	return event.Delivery{Seq: seq, Event: &event.UpdateError{Header: event.Header{Seq: seq}, Err: errors.New(msg), ConsecutiveFailures: n}}
}

// TestExampleAssemblyScript loads the AssemblyScript example and checks its
// four behaviours: a lookup at init, a log line per change (rule counts
// before and after, and the current value), a log line per failed update,
// and a goodbye on closing.
func TestExampleAssemblyScript(t *testing.T) {
	r, rec := newTestRuntime(t)
	s := newSettings()
	p := mustLoad(t, r, PluginConfig{Name: "as", Path: asPluginWasm, Config: []byte(`{"env":"prod","user":"ann"}`)}, s)
	m := p.Manifest()
	if want := event.SetOf(event.KindSettingChanged, event.KindUpdateError, event.KindClosing); m.Subscriptions != want {
		t.Fatalf("subscriptions = %v, want %v", m.Subscriptions.Kinds(), want.Kinds())
	}
	if len(m.Declarations) != 1 {
		t.Fatalf("declarations = %+v", m.Declarations)
	}
	if d := m.Declarations[0]; d.Name != "rate_limit" || d.Type != "int" || string(d.Default) != "100" ||
		strings.Join(d.ConfigurableFeatures, ",") != "env,user" {
		t.Fatalf("declaration = %+v", d)
	}
	if rec.find("INFO rate_limit at init is 250", "plugin=as") == "" {
		t.Fatalf("no lookup at init in log:\n%s", rec.dump())
	}

	if err := deliver(p, changed("feature_x")); err != nil {
		t.Fatal(err)
	}
	s.set("rate_limit", "prod", "300")
	if err := deliver(p, changed("rate_limit")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"INFO setting feature_x changed: rules 1 -> 2; rate_limit is 250",
		"INFO setting rate_limit changed: rules 1 -> 2; rate_limit is 300",
	} {
		if rec.find(want, "plugin=as") == "" {
			t.Fatalf("no %q in log:\n%s", want, rec.dump())
		}
	}

	if err := deliver(p, asUpdateError(3, "connection refused")); err != nil {
		t.Fatal(err)
	}
	if want := "ERROR heksher update failed (3 in a row): connection refused"; rec.find(want, "plugin=as") == "" {
		t.Fatalf("no %q in log:\n%s", want, rec.dump())
	}

	if err := deliver(p, asClosing()); err != nil {
		t.Fatal(err)
	}
	if rec.find("INFO goodbye", "plugin=as") == "" {
		t.Fatalf("no goodbye in log:\n%s", rec.dump())
	}
	if st := p.Status(); st.Errors != 0 || st.Restarts != 0 || st.Lookups != 3 {
		t.Fatalf("status = %+v", st)
	}
}

// TestExampleAssemblyScriptRefusals feeds the example what a plugin must
// survive or refuse: a config that is not a flat object of strings fails the
// load with the plugin's message, and a lookup that fails (here every
// setting is unknown) is a warning at init and the handler's error message,
// naming the setting, on a change.
func TestExampleAssemblyScriptRefusals(t *testing.T) {
	r, rec := newTestRuntime(t)
	for _, cfg := range []string{`{"env":1}`, `["prod"]`, `{"env":"prod"`, `{"env":"a\q"}`} {
		_, err := r.Load(t.Context(), PluginConfig{Name: "bad", Path: asPluginWasm, Config: []byte(cfg)}, newSettings())
		if !errors.Is(err, ErrInit) || !errors.Is(err, ErrGuestStatus) || !strings.Contains(err.Error(), "want a flat JSON object of strings") {
			t.Fatalf("config %s: err = %v", cfg, err)
		}
	}
	p := mustLoad(t, r, PluginConfig{Name: "lost", Path: asPluginWasm, Config: []byte("null")}, asNotFoundSettings{})
	if rec.find("WARN rate_limit at init: rate_limit: setting not found", "plugin=lost") == "" {
		t.Fatalf("no warning at init:\n%s", rec.dump())
	}
	err := deliver(p, changed("feature_x"))
	var ce *CallError
	if !errors.As(err, &ce) || !errors.Is(err, ErrGuestStatus) || ce.Message != `rate_limit: setting not found: get_setting "rate_limit": setting "rate_limit": pluginapi: setting not found` {
		t.Fatalf("err = %v", err)
	}
	// The failure is the plugin's answer, not a fault: the instance stays.
	if err := deliver(p, asClosing()); err != nil {
		t.Fatal(err)
	}
	if st := p.Status(); st.Restarts != 0 || st.State != pluginapi.StateRunning {
		t.Fatalf("status = %+v", st)
	}
}

// TestAssemblyScriptSDK drives the SDK's test guest through every event
// kind, the typed lookups, a value larger than the first lookup buffer, an
// error status, an abort (a trap: the host replaces the instance and logs
// the abort's message and place) and the routed trace and Math.random.
func TestAssemblyScriptSDK(t *testing.T) {
	r, rec := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "asg", Path: asGuestWasm, Config: []byte(`{"x":"é"}`)}, nil)
	m := p.Manifest()
	if m.Subscriptions != event.All {
		t.Fatalf("subscriptions = %v", m.Subscriptions.Kinds())
	}
	if len(m.Declarations) != 1 || m.Declarations[0].Name != "greeting" || m.Declarations[0].Type != "str" ||
		string(m.Declarations[0].Default) != `"hello \"world\""` {
		t.Fatalf("declarations = %+v", m.Declarations)
	}
	if rec.find(`INFO init: config={"x":"é"} answer=43`, "plugin=asg") == "" {
		t.Fatalf("init:\n%s", rec.dump())
	}
	d := changed("motd")
	d.Dropped = 4
	seqOK := seqs.Add(1)
	last := time.Unix(1700000000, 5)
	for _, ev := range []event.Delivery{
		d,
		changed("typed"),
		changed("big"),
		{Seq: seqOK, Event: &event.UpdateOK{Header: event.Header{Seq: seqOK}, ETag: `"e1"`, Changed: []string{"a", "b"},
			Rejected: []event.RejectedValue{{Setting: "a", RuleID: 7, Conditions: []event.Condition{{Feature: "env", Value: "x"}}, Value: json.RawMessage(`"v"`), Reason: "not an int"}}}},
		{Seq: seqs.Add(1), Event: &event.UpdateError{Err: errors.New("boom ünïcode"), ConsecutiveFailures: 2, LastSuccess: last}},
		{Seq: seqs.Add(1), Event: &event.Declared{Setting: "greeting", Version: "1.0", Outcome: "created", Tracked: true}},
		{Seq: 99, Event: &event.Closing{}},
	} {
		if err := deliver(p, ev); err != nil {
			t.Fatalf("%T: %v", ev.Event, err)
		}
	}
	for _, want := range []string{
		fmt.Sprintf(`INFO changed motd seq=%d dropped=4 old: retrieved default= #1[]=1 new: retrieved default=5 #2[env=prod]=2 #3[env=dev,user=ann]=3 cursor: #2[env=prod]=2 #3[env=dev,user=ann]=3`, d.Seq),
		`INFO typed: answer=43 ratio=43.0 enabled=true default_enabled=false greeting=hello, prod missing=-1 (missing: setting not found: get_setting "missing": setting "missing": pluginapi: setting not found) answer_as_str=fallback (type error)`,
		"INFO big: 1002",
		`INFO update_ok: not_modified=false etag="e1" changed=a,b rejected a#7 "v": not an int`,
		fmt.Sprintf("INFO update_error: boom ünïcode failures=2 last_success=%d", last.UnixNano()),
		"INFO declared: greeting v1.0 outcome=created tracked=true error=",
		"INFO closing seq=99",
	} {
		if rec.find(want, "plugin=asg") == "" {
			t.Fatalf("no %q in log:\n%s", want, rec.dump())
		}
	}

	var ce *CallError
	if err := deliver(p, changed("fail")); !errors.As(err, &ce) || ce.Message != "handler failed on purpose" {
		t.Fatalf("fail: %v", err)
	}
	// An abort is a trap: the message and place reach the log and the error.
	err := deliver(p, changed("boom"))
	if !errors.Is(err, ErrTrap) {
		t.Fatalf("boom: %v", err)
	}
	if rec.find("ERROR abort: Index out of range at ~lib/array.ts:", "plugin=asg") == "" {
		t.Fatalf("abort not logged:\n%s", rec.dump())
	}
	// The next event is served by a fresh instance.
	if err := deliver(p, changed("random")); err != nil {
		t.Fatal(err)
	}
	if rec.find("INFO random: ok", "plugin=asg") == "" || rec.find("DEBUG trace: tracing 1.5 2.5", "plugin=asg") == "" {
		t.Fatalf("random/trace:\n%s", rec.dump())
	}
	if st := p.Status(); st.Restarts != 1 {
		t.Fatalf("status = %+v", st)
	}

	for cfg, want := range map[string]string{
		"fail":    "init refused: fail",
		"baddecl": "declare : malformed payload",
		"abort":   "guest trapped",
	} {
		_, err := r.Load(t.Context(), PluginConfig{Name: "asg-" + cfg, Path: asGuestWasm, Config: []byte(cfg)}, newSettings())
		if !errors.Is(err, ErrInit) || !strings.Contains(err.Error(), want) {
			t.Fatalf("config %q: err = %v, want %q", cfg, err, want)
		}
	}
	if rec.find("ERROR abort: refusing to start at sdk/assemblyscript/testdata/guest.ts:", "plugin=asg-abort") == "" {
		t.Fatalf("abort at init not logged:\n%s", rec.dump())
	}
}

// TestAssemblyScriptImports checks that the toolchain settings of
// sdk/assemblyscript/asconfig.json keep AssemblyScript's own imports
// (env.abort, env.trace, env.seed) out of the modules: they import only the
// heksher_v1 functions and, for Math.random, WASI's random_get.
func TestAssemblyScriptImports(t *testing.T) {
	ctx := t.Context()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	for path, allowed := range map[string][]string{
		asPluginWasm: {"heksher_v1."},
		asGuestWasm:  {"heksher_v1.", "wasi_snapshot_preview1.random_get"},
	} {
		code, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := rt.CompileModule(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range m.ImportedFunctions() {
			mod, name, _ := d.Import()
			ok := false
			for _, a := range allowed {
				ok = ok || strings.HasPrefix(mod+"."+name, a)
			}
			if !ok {
				t.Errorf("%s imports %s.%s", path, mod, name)
			}
		}
		if _, ok := m.ExportedFunctions()["_start"]; ok {
			t.Errorf("%s exports _start: build a reactor (--exportStart _initialize)", path)
		}
		if _, ok := m.ExportedFunctions()["_initialize"]; !ok {
			t.Errorf("%s does not export _initialize", path)
		}
	}
}
