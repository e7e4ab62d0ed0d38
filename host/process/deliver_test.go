package process

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
)

// command delivers a SettingChanged event that makes the test plugin run
// cmd (see testdata/testplugin) with arg as the new server default.
func command(ctx context.Context, p *Plugin, seq uint64, cmd string, arg any) error {
	var def json.RawMessage
	if arg != nil {
		def, _ = json.Marshal(arg)
	}
	ev := &event.SettingChanged{Header: event.Header{Seq: seq, Time: time.Now()}, Setting: cmd, New: event.RuleSet{Default: def}}
	return p.Deliver(ctx, event.Delivery{Event: ev, Seq: seq})
}

// ping delivers an ordinary event the test plugin records.
func ping(ctx context.Context, p *Plugin, seq uint64) error {
	return p.Deliver(ctx, event.Delivery{Event: &event.Closing{Header: event.Header{Seq: seq}}, Seq: seq})
}

func TestStart_Manifest(t *testing.T) {
	t.Setenv("HEKSHER_TEST_HOST_ONLY", "secret")
	cfg, rec := testPluginConfig(t, "manifest")
	cfg.Args = []string{"-v", "two words"}
	cfg.Env = []string{"GRANTED=yes"}
	p := startPlugin(t, cfg, newMemSettings())
	m := p.Manifest()
	if m.Subscriptions != event.All {
		t.Errorf("Subscriptions = %v, want all", m.Subscriptions.Kinds())
	}
	want := pluginapi.Declaration{Name: "test.limit", Type: "int", ConfigurableFeatures: []string{"env"}, Default: json.RawMessage("7")}
	if len(m.Declarations) != 1 || m.Declarations[0].Name != want.Name || m.Declarations[0].Type != want.Type ||
		string(m.Declarations[0].Default) != "7" || len(m.Declarations[0].ConfigurableFeatures) != 1 {
		t.Errorf("Declarations = %+v, want [%+v]", m.Declarations, want)
	}
	init := lastRecord(t, rec, "init")
	if init.Name != "manifest" || string(init.Config) != string(cfg.Config) {
		t.Errorf("Init got name %q config %s, want %q %s", init.Name, init.Config, "manifest", cfg.Config)
	}
	if !slices.Equal(init.Args, cfg.Args) {
		t.Errorf("plugin args = %q, want %q", init.Args, cfg.Args)
	}
	if !slices.Contains(init.Env, "GRANTED=yes") {
		t.Errorf("plugin env lacks the configured variable: %q", init.Env)
	}
	for _, kv := range init.Env {
		if strings.HasPrefix(kv, "HEKSHER_TEST_HOST_ONLY=") {
			t.Errorf("plugin inherited the host's environment: %q", kv)
		}
	}
	st := p.Status()
	if st.State != pluginapi.StateRunning || st.Kind != "process" || st.Detail["pid"] != strconv.Itoa(init.PID) {
		t.Errorf("Status = %+v, want running, kind process, pid %d", st, init.PID)
	}
}

func TestDeliver_Events(t *testing.T) {
	cfg, rec := testPluginConfig(t, "events")
	p := startPlugin(t, cfg, newMemSettings())
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	tests := []struct {
		name string
		d    event.Delivery
		what string
		// check inspects the recorded event JSON.
		check func(t *testing.T, r record)
	}{
		{
			name: "declared",
			d: event.Delivery{Seq: 1, Event: &event.Declared{Header: event.Header{Seq: 10, Time: at}, Setting: "a", Version: "1.0",
				Outcome: "created", Tracked: true, Err: errors.New("boom")}},
			what: "declared",
			check: func(t *testing.T, r record) {
				var e struct {
					Seq              uint64
					Time             time.Time
					Setting, Outcome string
					Tracked          bool
					Err              struct{}
				}
				mustJSON(t, r.Event, &e)
				if e.Seq != 10 || !e.Time.Equal(at) || e.Setting != "a" || e.Outcome != "created" || !e.Tracked {
					t.Errorf("got %+v", e)
				}
			},
		},
		{
			name: "update ok",
			d: event.Delivery{Seq: 2, Dropped: 3, Event: &event.UpdateOK{Header: event.Header{Seq: 11}, ETag: "e1", Changed: []string{"a", "b"},
				Rejected: []event.RejectedValue{{Setting: "a", RuleID: 4, Conditions: []event.Condition{{Feature: "f", Value: "v"}}, Value: json.RawMessage(`"x"`), Reason: "bad"}},
				Duration: time.Second}},
			what: "update_ok",
			check: func(t *testing.T, r record) {
				var e event.UpdateOK
				mustJSON(t, r.Event, &e)
				if r.Dropped != 3 || e.ETag != "e1" || len(e.Changed) != 2 || len(e.Rejected) != 1 || e.Rejected[0].RuleID != 4 ||
					e.Rejected[0].Conditions[0].Value != "v" || string(e.Rejected[0].Value) != `"x"` || e.Duration != time.Second {
					t.Errorf("got dropped %d, %+v", r.Dropped, e)
				}
			},
		},
		{
			name: "update error",
			d: event.Delivery{Seq: 3, Event: &event.UpdateError{Header: event.Header{Seq: 12, Time: at}, Err: errors.New("connection refused"),
				ConsecutiveFailures: 4, LastSuccess: at.Add(-time.Minute)}},
			what: "update_error",
			check: func(t *testing.T, r record) {
				var v struct{ Consecutive, SinceNS int64 }
				mustJSON(t, r.Value, &struct {
					C *int64 `json:"consecutive"`
					S *int64 `json:"since_ns"`
				}{&v.Consecutive, &v.SinceNS})
				if r.Error != "connection refused" || v.Consecutive != 4 || time.Duration(v.SinceNS) != time.Minute {
					t.Errorf("got error %q, %+v", r.Error, v)
				}
			},
		},
		{
			name: "setting changed",
			d: event.Delivery{Seq: 4, Event: &event.SettingChanged{Header: event.Header{Seq: 13}, Setting: "a",
				Old: event.RuleSet{Retrieved: true, Default: json.RawMessage("1")},
				New: event.RuleSet{Retrieved: true, Rules: []event.Rule{{ID: 9, Conditions: []event.Condition{{Feature: "env", Value: "prod"}}, Value: json.RawMessage("2")}}}}},
			what: "setting_changed",
			check: func(t *testing.T, r record) {
				var e event.SettingChanged
				mustJSON(t, r.Event, &e)
				if e.Setting != "a" || string(e.Old.Default) != "1" || len(e.New.Rules) != 1 || e.New.Rules[0].ID != 9 ||
					e.New.Rules[0].Conditions[0] != (event.Condition{Feature: "env", Value: "prod"}) || string(e.New.Rules[0].Value) != "2" || e.New.Default != nil {
					t.Errorf("got %+v", e)
				}
			},
		},
		{
			name:  "closing",
			d:     event.Delivery{Seq: 5, Event: &event.Closing{Header: event.Header{Seq: 14}}},
			what:  "closing",
			check: func(t *testing.T, r record) {},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := p.Deliver(context.Background(), tc.d); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			r := lastRecord(t, rec, tc.what)
			if r.Seq != tc.d.Seq {
				t.Errorf("Seq = %d, want %d", r.Seq, tc.d.Seq)
			}
			tc.check(t, r)
		})
	}
	if st := p.Status(); st.Calls != uint64(len(tests)) || st.Errors != 0 {
		t.Errorf("Status calls/errors = %d/%d, want %d/0", st.Calls, st.Errors, len(tests))
	}
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

func TestDeliver_HandlerError(t *testing.T) {
	cfg, _ := testPluginConfig(t, "handler-error")
	p := startPlugin(t, cfg, newMemSettings())
	err := command(context.Background(), p, 1, "cmd.fail", nil)
	var he *HandlerError
	if !errors.Is(err, ErrHandler) || !errors.As(err, &he) || he.Message != "failure requested" || he.Seq != 1 {
		t.Fatalf("err = %v, want a HandlerError with the plugin's text", err)
	}
	if err := ping(context.Background(), p, 2); err != nil {
		t.Fatalf("after a handler error: %v", err)
	}
	if st := p.Status(); st.Restarts != 0 || st.Errors != 1 {
		t.Errorf("Status restarts/errors = %d/%d, want 0/1", st.Restarts, st.Errors)
	}
}

func TestLookup(t *testing.T) {
	cfg, rec := testPluginConfig(t, "lookups")
	s := newMemSettings("test.limit", "42")
	p := startPlugin(t, cfg, s)
	tests := []struct {
		name       string
		setting    string
		features   map[string]string
		wantValue  string
		wantSource string
	}{
		{name: "found", setting: "test.limit", features: map[string]string{"env": "prod"}, wantValue: "42", wantSource: "server_default"},
		{name: "not found", setting: "nope", wantSource: "ErrNotFound"},
		{name: "not declared", setting: "undeclared.x", wantSource: "ErrNotDeclared"},
		{name: "bad context", setting: "test.limit", features: map[string]string{"bogus": "1"}, wantSource: "ErrBadContext"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			arg := map[string]any{"setting": tc.setting, "features": tc.features}
			if err := command(context.Background(), p, uint64(i+1), "cmd.lookup", arg); err != nil {
				t.Fatal(err)
			}
			r := lastRecord(t, rec, "lookup")
			if string(r.Value) != tc.wantValue || r.Source != tc.wantSource {
				t.Errorf("lookup = %s from %q (error %q), want %s from %q", r.Value, r.Source, r.Error, tc.wantValue, tc.wantSource)
			}
		})
	}
	if st := p.Status(); st.Lookups != uint64(len(tests)) {
		t.Errorf("Status.Lookups = %d, want %d", st.Lookups, len(tests))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.asked[0] != "lookups/test.limit" {
		t.Errorf("host saw lookup %q, want it made as plugin %q", s.asked[0], "lookups")
	}
}
