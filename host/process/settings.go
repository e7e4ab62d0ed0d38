package process

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

// settingsServer serves one process's lookups from the host's Settings,
// and the declarations it makes while its Init runs.
type settingsServer struct {
	pluginv1.UnimplementedSettingsServer
	p *Plugin

	mu sync.Mutex
	// initDone is set when the Init call has returned: Declare is refused
	// from then on. declared are the declarations received before.
	initDone bool
	declared []pluginapi.Declaration
}

// maxInitDeclarations bounds the declarations one process may make by
// Declare while its Init runs.
const maxInitDeclarations = 10_000

// Declare receives declarations while the plugin's Init runs and hands
// them to the host's settings ([pluginapi.InitDeclarer]), as the wasm
// runtime's declare host function does, so that the same Init's lookups
// find them. They join the manifest Init returns (see endInit). A refusal
// by the settings is only logged at DEBUG: the host refuses the manifest
// again, with the reason, when it commits the plugin.
func (s *settingsServer) Declare(ctx context.Context, req *pluginv1.DeclareRequest) (*pluginv1.DeclareResponse, error) {
	ds, err := pluginv1.ToDeclarations(req.GetDeclarations())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	for _, d := range ds {
		switch {
		case d.Type == "":
			return nil, status.Errorf(codes.InvalidArgument, "setting %q has an empty type: give a Heksher type such as \"int\" or \"str\"", d.Name)
		case d.Default != nil && !json.Valid(d.Default):
			return nil, status.Errorf(codes.InvalidArgument, "setting %q: the default %q is not JSON (a string default is quoted: \"\\\"text\\\"\")", d.Name, d.Default)
		}
	}
	s.mu.Lock()
	if s.initDone {
		s.mu.Unlock()
		return nil, status.Error(codes.FailedPrecondition, "declare: only while the plugin's Init runs: the plugin's declarations are fixed when it loads")
	}
	if len(s.declared)+len(ds) > maxInitDeclarations {
		s.mu.Unlock()
		return nil, status.Errorf(codes.ResourceExhausted, "declare: more than %d declarations during Init", maxInitDeclarations)
	}
	s.declared = append(s.declared, ds...)
	s.mu.Unlock()
	if di, ok := s.p.settings.(pluginapi.InitDeclarer); ok {
		for _, d := range ds {
			if err := di.DeclareAtInit(ctx, s.p.cfg.Name, d); err != nil {
				s.p.log.Debug("process: a declaration at init is not readable during init",
					slog.String("setting", d.Name), slog.String("reason", err.Error()))
			}
		}
	}
	return &pluginv1.DeclareResponse{}, nil
}

// endInit refuses Declare from now on and returns the declarations
// received while Init ran.
func (s *settingsServer) endInit() []pluginapi.Declaration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initDone = true
	return s.declared
}

// withDeclared returns m with the declarations of ds that it does not hold
// already: a declaration both made by Declare and returned in the manifest
// counts once; one that differs is kept twice, for the host to refuse with
// its reason.
func withDeclared(m pluginapi.Manifest, ds []pluginapi.Declaration) pluginapi.Manifest {
	if len(ds) == 0 {
		return m
	}
	m.Declarations = append([]pluginapi.Declaration(nil), m.Declarations...)
	for _, d := range ds {
		if !holds(m.Declarations, d) {
			m.Declarations = append(m.Declarations, d)
		}
	}
	return m
}

// holds reports whether ds holds a declaration equal to d.
func holds(ds []pluginapi.Declaration, d pluginapi.Declaration) bool {
	for _, x := range ds {
		if x.Name == d.Name && sameDeclaration(x, d) {
			return true
		}
	}
	return false
}

// sameDeclaration compares two declarations, an empty feature list equal
// to a nil one.
func sameDeclaration(a, b pluginapi.Declaration) bool {
	if len(a.ConfigurableFeatures) == 0 && len(b.ConfigurableFeatures) == 0 {
		a.ConfigurableFeatures, b.ConfigurableFeatures = nil, nil
	}
	return a.Type == b.Type && a.Version == b.Version && string(a.Default) == string(b.Default) &&
		reflect.DeepEqual(a.ConfigurableFeatures, b.ConfigurableFeatures) &&
		(len(a.Metadata) == 0 && len(b.Metadata) == 0 || reflect.DeepEqual(a.Metadata, b.Metadata))
}

func (s *settingsServer) Lookup(ctx context.Context, req *pluginv1.LookupRequest) (*pluginv1.LookupResponse, error) {
	s.p.lookups.Add(1)
	v, err := s.p.settings.Lookup(ctx, s.p.cfg.Name, req.GetSetting(), pluginv1.ToFeatures(req.GetFeatures()))
	if err != nil {
		return nil, pluginv1.LookupStatus(err)
	}
	return pluginv1.FromValue(v), nil
}

// connCounter counts the connections a process opens to its Settings
// server. The SDK opens exactly one, in Init; Status shows the count so that
// a plugin that reconnects for its lookups can be seen.
type connCounter struct {
	n *atomic.Int64
}

var _ stats.Handler = connCounter{}

func (c connCounter) HandleConn(_ context.Context, s stats.ConnStats) {
	if _, ok := s.(*stats.ConnBegin); ok {
		c.n.Add(1)
	}
}

func (connCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (connCounter) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (connCounter) HandleRPC(context.Context, stats.RPCStats)                         {}
