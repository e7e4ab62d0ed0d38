package plugin

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

// declareClient answers Declare with err and counts the calls.
type declareClient struct {
	pluginv1.SettingsClient
	err   error
	calls int
}

func (c *declareClient) Declare(context.Context, *pluginv1.DeclareRequest, ...grpc.CallOption) (*pluginv1.DeclareResponse, error) {
	c.calls++
	return &pluginv1.DeclareResponse{}, c.err
}

// Declare's declarations join the manifest once (also when the host is too
// old for the call), a refused one does not, and after Init the SDK refuses
// the call without asking the host.
func TestInitRequestDeclare(t *testing.T) {
	ctx := context.Background()
	x := pluginapi.Declaration{Name: "x", Type: "int", Default: json.RawMessage("1")}
	y := pluginapi.Declaration{Name: "y", Type: "int", Default: json.RawMessage("2")}
	c := &declareClient{}
	d := &initDeclarer{client: c}
	req := InitRequest{declarer: d}
	if err := req.Declare(ctx, x); err != nil {
		t.Fatal(err)
	}
	c.err = status.Error(codes.InvalidArgument, "bad")
	if err := req.Declare(ctx, pluginapi.Declaration{Name: "bad"}); err == nil || !strings.Contains(err.Error(), "refuses") {
		t.Errorf("a refused declaration: %v", err)
	}
	c.err = status.Error(codes.Unimplemented, "method Declare not implemented")
	if err := req.Declare(ctx, y); err == nil || !strings.Contains(err.Error(), "older") {
		t.Errorf("an old host: %v", err)
	}
	m := d.end(pluginapi.Manifest{Declarations: []pluginapi.Declaration{x}})
	if len(m.Declarations) != 2 || m.Declarations[0].Name != "x" || m.Declarations[1].Name != "y" {
		t.Errorf("manifest %+v, want x and y", m.Declarations)
	}
	calls := c.calls
	if err := req.Declare(ctx, x); err == nil || !strings.Contains(err.Error(), "only while Init runs") {
		t.Errorf("Declare after Init: %v", err)
	}
	if c.calls != calls {
		t.Error("Declare after Init reached the host")
	}
	if err := (InitRequest{}).Declare(ctx, x); err == nil {
		t.Error("Declare on an InitRequest not made by the SDK succeeded")
	}
}
