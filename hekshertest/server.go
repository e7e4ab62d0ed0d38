package hekshertest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heksher-go/heksher/internal/httpguard"
	"github.com/heksher-go/heksher/internal/server"
)

// Server is a running Heksher-compatible server on a loopback port.
type Server struct {
	// URL is the base URL, "http://127.0.0.1:<port>", with no trailing
	// slash.
	URL string

	engine *server.Engine
	addr   string
	client *http.Client
	tb     testing.TB

	mu        sync.Mutex // guards the fields below
	srv       *http.Server
	serveDone chan struct{}
	closed    bool
	faults    []Fault
	intercept func(w http.ResponseWriter, r *http.Request, next http.Handler)
	requests  []Request

	handlers sync.WaitGroup // in-flight requests
	inflight atomic.Int64   // the same count, for the hang report
}

// Option configures [NewServer].
type Option func(*config)

type config struct {
	features []string
	seed     server.Seed
	seedFile string
	engine   server.Options
	noWatch  bool
}

// WithContextFeatures starts the server with these context features, in
// this order (default: none).
func WithContextFeatures(names ...string) Option {
	return func(c *config) { c.features = append(c.features, names...) }
}

// WithSettings declares these settings (and their rules) at start-up.
func WithSettings(settings ...Setting) Option {
	return func(c *config) { c.seed.Settings = append(c.seed.Settings, settings...) }
}

// WithSeedFile loads a seed YAML file (schema in docs/DEVSERVER.md) at
// start-up, after WithContextFeatures and WithSettings.
func WithSeedFile(path string) Option { return func(c *config) { c.seedFile = path } }

// WithLogger sends the server's request log to l (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.engine.Logger = l } }

// Fixes selects reference behaviours to replace by the intended ones; see
// its fields. The zero value (the default) answers like the reference.
type Fixes = server.Fixes

// WithFixes switches the given reference behaviours to the intended ones
// (default: reproduce the reference everywhere).
func WithFixes(f Fixes) Option { return func(c *config) { c.engine.Fix = f } }

// WithoutWatch turns the watch off (default: on): query answers then carry
// no Heksher-Watch header and no query is held, exactly as with the real
// Heksher service, which has no watch. Use it to test a client's plain
// polling.
func WithoutWatch() Option { return func(c *config) { c.noWatch = true } }

// WithWatchLimits sets the longest wait a watch may ask for (whole seconds,
// at least one; default 60s) and how many watches are held at once (default
// 10,000; past it a watch is answered at once, as a plain query). Zero
// keeps a default.
func WithWatchLimits(maxWait time.Duration, maxWatchers int) Option {
	return func(c *config) { c.engine.Watch.MaxWait, c.engine.Watch.MaxWatchers = maxWait, maxWatchers }
}

// NewServer starts a server on 127.0.0.1 with an ephemeral port and
// registers its Close with t.Cleanup. Like heksher-devserver, it answers
// only requests naming a loopback host (421 otherwise) and refuses
// cross-origin writes (403) and form-typed bodies on writes (415); see
// docs/DEVSERVER.md. It offers the watch (a long poll on queries, an
// addition to v1 that the real service lacks; see [WithoutWatch]). Bad options (an invalid context
// feature, a seed the server refuses) fail the test with t.Fatal, so
// NewServer must be called from the test's goroutine.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	c.engine.ContextFeatures = c.features
	c.engine.Watch.Enabled = !c.noWatch
	eng, err := server.New(c.engine)
	if err != nil {
		t.Fatalf("hekshertest: %v", err)
	}
	ctx := context.Background()
	if err := eng.ApplySeed(ctx, &c.seed); err != nil {
		t.Fatalf("hekshertest: %v", err)
	}
	if c.seedFile != "" {
		seed, err := server.LoadSeedFile(c.seedFile)
		if err == nil {
			err = eng.ApplySeed(ctx, seed)
		}
		if err != nil {
			t.Fatalf("hekshertest: %v", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("hekshertest: listen: %v", err)
	}
	s := &Server{engine: eng, addr: ln.Addr().String(), tb: t}
	s.URL = "http://" + s.addr
	s.client = &http.Client{Transport: &http.Transport{}}
	s.serve(ln)
	t.Cleanup(s.Close)
	return s
}

func (s *Server) serve(ln net.Listener) {
	// The same access rules and read bounds as the dev server: loopback Host
	// names only, no cross-origin or form-bodied writes.
	guard, err := httpguard.Guard(s.addr, "", "hekshertest")
	if err != nil { // not expected: the address is always loopback
		s.tb.Errorf("hekshertest: %v", err)
		guard = func(h http.Handler) http.Handler { return h }
	}
	hs := &http.Server{Handler: guard(http.HandlerFunc(s.serveHTTP))}
	httpguard.Limits{}.Apply(hs)
	done := make(chan struct{})
	s.srv, s.serveDone = hs, done
	go func() {
		defer close(done)
		_ = hs.Serve(ln) // returns when the server is closed
	}()
}

// Client returns an HTTP client for the server; its idle connections are
// closed by Close.
func (s *Server) Client() *http.Client { return s.client }

// Stop closes the listener and every connection, so new requests are
// refused, while keeping the state. It waits for in-flight requests to
// end. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	hs, done := s.srv, s.serveDone
	s.srv = nil
	s.mu.Unlock()
	if hs == nil {
		return
	}
	_ = hs.Close() // closes listener and connections; in-flight handlers see their ctx cancelled
	<-done
	s.waitHandlers()
}

// waitHandlers waits for in-flight requests, reporting every 5 s what it is
// waiting for (an Intercept that never returns, say).
func (s *Server) waitHandlers() {
	done := make(chan struct{})
	go func() {
		s.handlers.Wait()
		close(done)
	}()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			s.tb.Logf("hekshertest: Close is waiting for %d in-flight request(s) to return", s.inflight.Load())
		}
	}
}

// Start serves again on the same address after [Server.Stop].
//
// # Errors
//
// The server is closed, or the port was taken meanwhile.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("hekshertest: server is closed")
	}
	if s.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("hekshertest: listen again on %s: %w", s.addr, err)
	}
	s.serve(ln)
	return nil
}

// Close stops the server for good and waits for in-flight requests. It may
// be called more than once.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.engine.CloseWatches()
	s.Stop()
	if tr, ok := s.client.Transport.(*http.Transport); ok {
		tr.CloseIdleConnections()
	}
}
