package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fakeBackend struct {
	ready      atomic.Bool
	reloads    atomic.Int32
	failReload bool
}

func (f *fakeBackend) Snapshot() Snapshot {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return Snapshot{
		Time:    now,
		Service: ServiceStatus{URL: "http://127.0.0.1:7071", Embedded: true, Serving: "service"},
		Update:  UpdateStatus{Time: now, ETag: `"abc"`, Result: "ok", LastSuccess: now},
		Settings: []SettingStatus{{
			Name: "banner", Type: "str", Version: "1.0", DeclaredBy: []string{"host", "greeter"},
			RuleSet: event.RuleSet{Retrieved: true, Rules: []event.Rule{{ID: 7, Conditions: []event.Condition{{Feature: "user", Value: "alice"}}, Value: json.RawMessage(`"winter sale"`)}}, Default: json.RawMessage(`"hello"`)},
			Value:   json.RawMessage(`"hello"`), Source: "server_default", LocalDefault: json.RawMessage(`"hi"`),
		}},
		Plugins: []PluginStatus{{Name: "greeter", Kind: "wasm", State: "running", Calls: 3, QueueSize: 64, Dropped: 2, SHA256: "0123456789abcdef", Detail: map[string]string{"pid": "4242"}, OutputDroppedLines: 7, OutputDroppedBytes: 9000}},
		Events:  []EventRecord{{Seq: 1, Time: now, Kind: "update_ok", Summary: "200, 1 changed"}},
	}
}

func (f *fakeBackend) Lookup(_ context.Context, setting string, features []pluginapi.Feature) (pluginapi.Value, error) {
	switch setting {
	case "banner":
		for _, ft := range features {
			if ft.Name == "planet" {
				return pluginapi.Value{}, fmt.Errorf("%w: banner is not configurable by planet", pluginapi.ErrBadContext)
			}
			if ft.Name == "user" && ft.Value == "alice" {
				return pluginapi.Value{JSON: json.RawMessage(`"winter sale"`), Source: pluginapi.SourceRule, RuleID: 7,
					Conditions: []event.Condition{{Feature: "user", Value: "alice"}}}, nil
			}
		}
		return pluginapi.Value{JSON: json.RawMessage(`"hello"`), Source: pluginapi.SourceServerDefault}, nil
	}
	return pluginapi.Value{}, fmt.Errorf("%w: %q", pluginapi.ErrNotFound, setting)
}

func (f *fakeBackend) Reload(context.Context) error {
	f.reloads.Add(1)
	if f.failReload {
		return errors.New("host: plugin x: checksum mismatch")
	}
	return nil
}

func (f *fakeBackend) Ready() bool { return f.ready.Load() }

func start(t *testing.T, b Backend, opts Options) *Server {
	t.Helper()
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	m := NewMetrics(func() []PluginStatus { return b.Snapshot().Plugins }, func() int { return len(b.Snapshot().Settings) })
	s, err := New(b, m, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func get(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	http.DefaultClient.CloseIdleConnections()
	return resp.StatusCode, string(body)
}

func TestEndpoints(t *testing.T) {
	b := &fakeBackend{}
	s := start(t, b, Options{})
	base := "http://" + s.Addr()
	cases := []struct {
		name     string
		method   string
		path     string
		status   int
		contains []string
		absent   []string
	}{
		{"status page", "GET", "/", 200, []string{`http-equiv="refresh"`, "banner", "greeter", "winter sale", "rule 7", "user=alice", "server_default", "update_ok", "pid: 4242", "sha256 0123456789ab…"}, []string{"<script"}},
		{"status json", "GET", "/api/v1/status", 200, []string{`"name": "banner"`, `"state": "running"`, `"dropped": 2`}, nil},
		{"lookup rule", "GET", "/api/v1/lookup/banner?user=alice", 200, []string{`"value": "winter sale"`, `"source": "rule"`, `"rule_id": 7`, `"feature": "user"`}, nil},
		{"lookup default", "GET", "/api/v1/lookup/banner?user=bob", 200, []string{`"source": "server_default"`, `"value": "hello"`}, nil},
		{"lookup unknown", "GET", "/api/v1/lookup/nope", 404, []string{"setting not found"}, nil},
		{"lookup bad context", "GET", "/api/v1/lookup/banner?planet=mars", 400, []string{"bad context"}, nil},
		{"lookup repeated feature", "GET", "/api/v1/lookup/banner?user=a&user=b", 400, []string{"more than once"}, nil},
		{"healthz", "GET", "/healthz", 200, []string{"ok"}, nil},
		{"readyz not ready", "GET", "/readyz", 503, []string{"not ready"}, nil},
		{"metrics", "GET", "/metrics", 200, []string{"heksher_host_settings 1", `heksher_host_plugin_calls_total{plugin="greeter"} 3`, `heksher_host_plugin_dropped_events_total{plugin="greeter"} 2`,
			`heksher_host_plugin_output_dropped_lines_total{plugin="greeter"} 7`, `heksher_host_plugin_output_dropped_bytes_total{plugin="greeter"} 9000`, "heksher_host_update_attempts_total"}, nil},
		{"reload", "POST", "/api/v1/reload", 200, []string{"reloaded"}, nil},
		{"reload wrong method", "GET", "/api/v1/reload", 405, nil, nil},
		{"unknown path", "GET", "/nope", 404, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, tc.method, base+tc.path, "")
			if status != tc.status {
				t.Fatalf("status %d, want %d; body %s", status, tc.status, body)
			}
			for _, c := range tc.contains {
				if !strings.Contains(body, c) {
					t.Errorf("body lacks %q:\n%s", c, body)
				}
			}
			for _, c := range tc.absent {
				if strings.Contains(body, c) {
					t.Errorf("body has %q", c)
				}
			}
		})
	}
	b.ready.Store(true)
	if status, _ := get(t, "GET", base+"/readyz", ""); status != 200 {
		t.Errorf("readyz after ready: %d", status)
	}
	if b.reloads.Load() != 1 {
		t.Errorf("reloads = %d", b.reloads.Load())
	}
}

func TestReloadFailure(t *testing.T) {
	s := start(t, &fakeBackend{failReload: true}, Options{})
	status, body := get(t, "POST", "http://"+s.Addr()+"/api/v1/reload", "")
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "checksum mismatch") {
		t.Fatalf("%d %s", status, body)
	}
}

func TestToken(t *testing.T) {
	b := &fakeBackend{}
	s := start(t, b, Options{Token: "s3cret"})
	base := "http://" + s.Addr()
	cases := []struct {
		name, method, path, token string
		status                    int
	}{
		{"no token status", "GET", "/", "", 401},
		{"no token status json", "GET", "/api/v1/status", "", 401},
		{"no token lookup", "GET", "/api/v1/lookup/banner", "", 401},
		{"no token healthz", "GET", "/healthz", "", 401},
		{"no token readyz", "GET", "/readyz", "", 401},
		{"no token metrics", "GET", "/metrics", "", 401},
		{"no token reload", "POST", "/api/v1/reload", "", 401},
		{"no token unknown path", "GET", "/nope", "", 401},
		{"wrong token", "GET", "/api/v1/lookup/banner", "nope", 401},
		{"token with another case", "GET", "/api/v1/lookup/banner", "S3CRET", 401},
		{"right token", "GET", "/api/v1/lookup/banner", "s3cret", 200},
		{"right token healthz", "GET", "/healthz", "s3cret", 200},
		{"right token reload", "POST", "/api/v1/reload", "s3cret", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := get(t, tc.method, base+tc.path, tc.token); status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
		})
	}
	// Only the request with the token reached the backend's reload.
	if n := b.reloads.Load(); n != 1 {
		t.Errorf("the backend reloaded %d times, want once", n)
	}
}

func TestNonLoopback(t *testing.T) {
	cases := []struct {
		name   string
		opts   Options
		refuse bool
	}{
		{"all interfaces without token", Options{Listen: ":0"}, true},
		{"public address without token", Options{Listen: "0.0.0.0:0"}, true},
		{"public address with token", Options{Listen: "0.0.0.0:0", Token: "t"}, false},
		{"loopback without token", Options{Listen: "127.0.0.1:0"}, false},
		{"localhost without token", Options{Listen: "localhost:0"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(&fakeBackend{}, nil, tc.opts)
			if got := errors.Is(err, ErrNotLoopback); got != tc.refuse {
				t.Fatalf("err = %v, refuse = %v", err, tc.refuse)
			}
		})
	}
}

func TestMetricsObserve(t *testing.T) {
	m := NewMetrics(func() []PluginStatus { return nil }, func() int { return 0 })
	m.ObserveUpdate(true, true, time.Millisecond)
	m.ObserveUpdate(false, false, 2*time.Millisecond)
	m.ObserveDelivery("p", time.Microsecond)
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			switch {
			case mt.GetCounter() != nil:
				got[mf.GetName()] = mt.GetCounter().GetValue()
			case mt.GetHistogram() != nil:
				got[mf.GetName()] = float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	want := map[string]float64{
		"heksher_host_update_attempts_total":            2,
		"heksher_host_update_errors_total":              1,
		"heksher_host_update_not_modified_total":        1,
		"heksher_host_update_duration_seconds":          2,
		"heksher_host_plugin_delivery_duration_seconds": 1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	m.ForgetPlugin("p")
}
