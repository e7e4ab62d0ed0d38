package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

// fakeHost serves the Settings service from a map, with the host's errors.
type fakeHost struct {
	pluginv1.UnimplementedSettingsServer
	values map[string]string
}

func (h *fakeHost) Lookup(ctx context.Context, req *pluginv1.LookupRequest) (*pluginv1.LookupResponse, error) {
	if _, has := ctx.Deadline(); !has {
		return nil, errors.New("lookup without a deadline")
	}
	for _, f := range req.GetFeatures() {
		if f.GetName() == "bogus" {
			return nil, pluginv1.LookupStatus(pluginapi.ErrBadContext)
		}
	}
	if req.GetSetting() == "secret" {
		return nil, pluginv1.LookupStatus(pluginapi.ErrNotDeclared)
	}
	v, ok := h.values[req.GetSetting()]
	if !ok {
		return nil, pluginv1.LookupStatus(pluginapi.ErrNotFound)
	}
	return pluginv1.FromValue(pluginapi.Value{JSON: json.RawMessage(v), Source: pluginapi.SourceRule, RuleID: 3}), nil
}

func newTestSettings(t *testing.T) *Settings {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pluginv1.RegisterSettingsServer(srv, &fakeHost{values: map[string]string{"n": "42", "s": `"x"`}})
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		<-done
	})
	return NewSettings(pluginv1.NewSettingsClient(conn))
}

func TestSettings_Lookup(t *testing.T) {
	s := newTestSettings(t)
	tests := []struct {
		name     string
		setting  string
		features []pluginapi.Feature
		want     string
		wantErr  error
	}{
		{name: "found", setting: "n", features: []pluginapi.Feature{{Name: "env", Value: "prod"}}, want: "42"},
		{name: "not found", setting: "nope", wantErr: pluginapi.ErrNotFound},
		{name: "not declared", setting: "secret", wantErr: pluginapi.ErrNotDeclared},
		{name: "bad context", setting: "n", features: []pluginapi.Feature{{Name: "bogus"}}, wantErr: pluginapi.ErrBadContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := s.Lookup(context.Background(), tc.setting, tc.features...)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if string(v.JSON) != tc.want {
				t.Errorf("value = %s, want %s", v.JSON, tc.want)
			}
			if tc.wantErr == nil && (v.Source != pluginapi.SourceRule || v.RuleID != 3) {
				t.Errorf("value = %+v, want from rule 3", v)
			}
		})
	}
}

func TestGet(t *testing.T) {
	s := newTestSettings(t)
	n, err := Get[int](context.Background(), s, "n")
	if err != nil || n != 42 {
		t.Fatalf("Get[int] = %d, %v", n, err)
	}
	if _, err := Get[int](context.Background(), s, "s"); err == nil {
		t.Error(`Get[int] decoded "x"`)
	}
	if _, err := Get[int](context.Background(), s, "nope"); !errors.Is(err, pluginapi.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}
