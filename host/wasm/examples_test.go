package wasm

import (
	"errors"
	"testing"

	"github.com/heksher-go/heksher/event"
)

func TestExampleChanges(t *testing.T) {
	r, rec := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "changes", Path: changesWasm, Config: []byte(`{"context":{"env":"prod","user":"ann"}}`)}, nil)
	m := p.Manifest()
	if m.Subscriptions != event.SetOf(event.KindSettingChanged) || len(m.Declarations) != 1 || m.Declarations[0].Name != "rate_limit" {
		t.Fatalf("manifest = %+v", m)
	}
	d := changed("feature_x")
	d.Dropped = 2
	if err := deliver(p, d); err != nil {
		t.Fatal(err)
	}
	want := "setting feature_x changed: rules 1 -> 2; rate_limit is 250 (2 events dropped before this one)"
	if rec.find("INFO "+want, "plugin=changes") == "" {
		t.Fatalf("no %q in log:\n%s", want, rec.dump())
	}
}

func TestExampleErrorHandler(t *testing.T) {
	r, rec := newTestRuntime(t)
	p := mustLoad(t, r, PluginConfig{Name: "errors", Path: errorsWasm, Config: []byte(`{"threshold":2}`)}, nil)
	if want := event.SetOf(event.KindUpdateError, event.KindUpdateOK); p.Manifest().Subscriptions != want {
		t.Fatalf("subscriptions = %v", p.Manifest().Subscriptions.Kinds())
	}
	fail := func(n int) event.Delivery {
		return event.Delivery{Seq: uint64(n), Event: &event.UpdateError{Err: errors.New("connection refused"), ConsecutiveFailures: n}}
	}
	if err := deliver(p, fail(1)); err != nil {
		t.Fatal(err)
	}
	if rec.find("ERROR heksher updates are failing") != "" {
		t.Fatal("reported below the threshold")
	}
	for n := 2; n <= 4; n++ {
		if err := deliver(p, fail(n)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{
		"ERROR heksher updates are failing: 2 in a row; last error: connection refused",
		"ERROR heksher updates are failing: 4 in a row; last error: connection refused",
	} {
		if rec.find(want, "plugin=errors") == "" {
			t.Fatalf("no %q in log:\n%s", want, rec.dump())
		}
	}
	if rec.find("3 in a row") != "" {
		t.Fatal("reported between thresholds")
	}
	if err := deliver(p, event.Delivery{Seq: 5, Event: &event.UpdateOK{}}); err != nil {
		t.Fatal(err)
	}
	if rec.find("INFO heksher updates recovered after 4 failures", "plugin=errors") == "" {
		t.Fatalf("recovery not reported:\n%s", rec.dump())
	}
	// A fresh instance (here: after a reload) catches up from the event's count.
	p2 := mustLoad(t, r, PluginConfig{Name: "errors2", Path: errorsWasm, Config: []byte(`{"threshold":2}`)}, nil)
	if err := deliver(p2, fail(6)); err != nil {
		t.Fatal(err)
	}
	if rec.find("failing: 6 in a row", "plugin=errors2") == "" {
		t.Fatalf("fresh instance did not catch up:\n%s", rec.dump())
	}
	if _, err := r.Load(t.Context(), PluginConfig{Name: "errors3", Path: errorsWasm, Config: []byte(`{"threshold":-1}`)}, newSettings()); !errors.Is(err, ErrInit) || !errors.Is(err, ErrGuestStatus) {
		t.Fatalf("bad config accepted: %v", err)
	}
}

// TestExampleWAT loads the plugin written in WebAssembly text, without the
// Go SDK: it declares a setting at init, handles a setting-changed event and
// looks a setting up with a context.
func TestExampleWAT(t *testing.T) {
	r, rec := newTestRuntime(t)
	s := newSettings()
	p := mustLoad(t, r, PluginConfig{Name: "wat", Path: watPluginWasm}, s)
	m := p.Manifest()
	if m.Subscriptions != event.SetOf(event.KindSettingChanged) || len(m.Declarations) != 1 {
		t.Fatalf("manifest = %+v", m)
	}
	if d := m.Declarations[0]; d.Name != "greeting" || d.Type != "str" || string(d.Default) != `"hello"` || len(d.ConfigurableFeatures) != 1 || d.ConfigurableFeatures[0] != "env" {
		t.Fatalf("declaration = %+v", d)
	}
	if err := deliver(p, changed("greeting")); err != nil {
		t.Fatal(err)
	}
	if rec.find(`INFO greeting changed; greeting for env=prod: "hello, prod"`, "plugin=wat") == "" {
		t.Fatalf("log:\n%s", rec.dump())
	}
	s.set("greeting", "prod", `"bonjour"`)
	if err := deliver(p, changed("motd")); err != nil {
		t.Fatal(err)
	}
	if rec.find(`motd changed; greeting for env=prod: "bonjour"`) == "" {
		t.Fatalf("log:\n%s", rec.dump())
	}
	if st := p.Status(); st.Lookups != 2 || st.Calls != 2 || st.Errors != 0 {
		t.Fatalf("status = %+v", st)
	}
}
