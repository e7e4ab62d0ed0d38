package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/internal/httpguard"
)

// Options configure a [Server]. The zero value listens on
// config.DefaultAdminListen with no token.
type Options struct {
	// Listen is the host:port to listen on; default 127.0.0.1:7070.
	Listen string
	// Token, when set, is required as "Authorization: Bearer <token>" on
	// every request.
	Token string
	// Refresh is the status page's self-refresh period; default 2s.
	Refresh time.Duration
	// Logger receives request failures; default discards.
	Logger *slog.Logger
	// OFREPTargetingFeature is the context feature that an OFREP
	// evaluation context's targetingKey gives; "" ignores the targeting
	// key (see docs/OPENFEATURE.md).
	OFREPTargetingFeature string
	// OFREPStrictContext refuses (INVALID_CONTEXT) OFREP context attributes
	// that the evaluated setting is not configurable by; by default they
	// are ignored.
	OFREPStrictContext bool
}

// Server is the admin HTTP server. Safe for concurrent use.
type Server struct {
	backend Backend
	metrics *Metrics
	opts    Options
	guard   func(http.Handler) http.Handler
	srv     *http.Server
	ln      net.Listener
	done    chan struct{}
	ofrep   ofrepState
}

// New checks opts and returns a server for backend and metrics (which may
// be nil to serve no /metrics). It does not listen yet; call [Server.Start].
//
// # Errors
//
// [ErrNotLoopback] (wrapped, naming the address) when opts.Listen is not
// loopback and opts.Token is empty.
func New(backend Backend, metrics *Metrics, opts Options) (*Server, error) {
	if opts.Listen == "" {
		opts.Listen = config.DefaultAdminListen
	}
	if opts.Refresh <= 0 {
		opts.Refresh = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if !config.IsLoopback(opts.Listen) && opts.Token == "" {
		return nil, fmt.Errorf("%w: %q", ErrNotLoopback, opts.Listen)
	}
	guard, err := httpguard.Guard(opts.Listen, opts.Token, "heksher-host")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotLoopback, err)
	}
	s := &Server{backend: backend, metrics: metrics, opts: opts, guard: guard, done: make(chan struct{})}
	s.srv = &http.Server{
		Handler:  s.Handler(),
		ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	httpguard.Limits{}.Apply(s.srv)
	return s, nil
}

// Handler returns the server's routes behind the access rules of package
// internal/httpguard: the token when one is set; otherwise only loopback
// Host names; and no cross-origin or form-bodied POST either way.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.statusPage)
	mux.HandleFunc("GET /api/v1/status", s.statusJSON)
	mux.HandleFunc("GET /api/v1/lookup/{setting}", s.lookup)
	mux.HandleFunc("POST /api/v1/reload", s.reload)
	mux.HandleFunc("POST /api/v1/plugins/{name}/restart", s.restartPlugin)
	s.ofrepRoutes(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !s.backend.Ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	if s.metrics != nil {
		mux.Handle("GET /metrics", s.metrics.Handler())
	}
	return s.guard(mux)
}

// Start listens on the configured address and serves in the background
// until [Server.Close].
func (s *Server) Start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("admin: listen: %w", err)
	}
	s.ln = ln
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.opts.Logger.Error("admin server stopped", "err", err)
		}
	}()
	return nil
}

// Addr returns the address the server listens on (useful with port 0), or
// "" before Start.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// URL returns "http://<addr>/".
func (s *Server) URL() string { return "http://" + s.Addr() + "/" }

// Close stops the server, waiting for in-flight requests until ctx ends.
// Idempotent.
func (s *Server) Close(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	<-s.done
	return err
}
