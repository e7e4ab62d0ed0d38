package process

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

// initDeclarerSettings records what DeclareAtInit receives.
type initDeclarerSettings struct {
	mu  sync.Mutex
	got []string
}

func (s *initDeclarerSettings) Lookup(context.Context, string, string, []pluginapi.Feature) (pluginapi.Value, error) {
	return pluginapi.Value{}, pluginapi.ErrNotFound
}

func (s *initDeclarerSettings) DeclareAtInit(_ context.Context, plugin string, d pluginapi.Declaration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, plugin+"/"+d.Name)
	return nil
}

// Declare reaches the host's InitDeclarer while Init runs, is refused after
// it (a plugin calling the service itself, past the SDK's own refusal) and
// for a malformed declaration, and its declarations join the manifest once.
func TestSettingsServerDeclare(t *testing.T) {
	ctx := context.Background()
	ds := &initDeclarerSettings{}
	srv := &settingsServer{p: &Plugin{cfg: Config{Name: "p"}, settings: ds, log: slog.New(slog.DiscardHandler)}}
	x := pluginapi.Declaration{Name: "x", Type: "int", Default: json.RawMessage("1")}
	w, err := pluginv1.FromDeclarations([]pluginapi.Declaration{x})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Declare(ctx, &pluginv1.DeclareRequest{Declarations: w}); err != nil {
		t.Fatalf("Declare during Init: %v", err)
	}
	for _, bad := range []*pluginv1.Declaration{{Type: "int"}, {Name: "y"}, {Name: "y", Type: "int", DefaultJson: []byte("{")}} {
		_, err := srv.Declare(ctx, &pluginv1.DeclareRequest{Declarations: []*pluginv1.Declaration{bad}})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("Declare(%v): %v, want InvalidArgument", bad, err)
		}
	}
	m := withDeclared(pluginapi.Manifest{Declarations: []pluginapi.Declaration{x}}, srv.endInit())
	if len(m.Declarations) != 1 {
		t.Errorf("manifest %+v, want x once", m.Declarations)
	}
	if m := withDeclared(pluginapi.Manifest{}, []pluginapi.Declaration{x}); len(m.Declarations) != 1 || m.Declarations[0].Name != "x" {
		t.Errorf("manifest %+v, want x from Declare", m.Declarations)
	}
	_, err = srv.Declare(ctx, &pluginv1.DeclareRequest{Declarations: w})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("Declare after Init: %v, want FailedPrecondition", err)
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if len(ds.got) != 1 || ds.got[0] != "p/x" {
		t.Errorf("InitDeclarer got %v, want [p/x]", ds.got)
	}
}
