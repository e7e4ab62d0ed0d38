package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/heksher-go/heksher/internal/httpguard"
)

// DefaultListen is the relay listener's default address: loopback.
const DefaultListen = "127.0.0.1:8181"

// ErrNotLoopback is returned by [Relay.Listen] for an address that is not
// loopback when no token is set: setting values can be sensitive.
var ErrNotLoopback = errors.New("relay: refusing a non-loopback listen address without a token")

// ListenOptions configure [Relay.Listen]. The zero value listens on
// DefaultListen with no token.
type ListenOptions struct {
	// Listen is the host:port to listen on; default 127.0.0.1:8181.
	Listen string
	// Token, when set, is required on every request as "Authorization:
	// Bearer <token>"; it is required when Listen is not loopback.
	Token string
	// Logger receives the server's errors; default the relay's.
	Logger *slog.Logger
	// AnswerTimeout bounds writing one answer, counted from its first
	// byte (a watch's wait comes before it and is not counted): a client
	// that asks for an answer and never reads it is disconnected then,
	// instead of holding a goroutine and the answer for ever. Default
	// DefaultAnswerTimeout.
	AnswerTimeout time.Duration
}

// DefaultAnswerTimeout is ListenOptions.AnswerTimeout's default.
const DefaultAnswerTimeout = time.Minute

// Server is a relay's HTTP listener: the relay's handler behind the same
// access rules and read bounds as every listener of the project (package
// internal/httpguard): the token when one is set, otherwise loopback Host
// names only; no cross-origin or form-bodied writes; bounded header, body
// and idle times and a 64 KiB header cap (431 beyond it, as the compatible
// server's own listeners answer). Safe for concurrent use.
type Server struct {
	srv    *http.Server
	ln     net.Listener
	done   chan struct{}
	cancel context.CancelFunc // ends the requests' base context
}

// Listen starts serving the relay on opts.Listen in the background until
// [Server.Close].
//
// # Errors
//
// [ErrNotLoopback] (wrapped, naming the address) for a non-loopback
// address without a token; the address cannot be listened on.
func (r *Relay) Listen(ctx context.Context, opts ListenOptions) (*Server, error) {
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.Logger == nil {
		opts.Logger = r.log
	}
	if opts.AnswerTimeout <= 0 {
		opts.AnswerTimeout = DefaultAnswerTimeout
	}
	if !httpguard.IsLoopbackAddr(opts.Listen) && opts.Token == "" {
		return nil, fmt.Errorf("%w: %q", ErrNotLoopback, opts.Listen)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("relay: listen: %w", err)
	}
	guard, err := httpguard.Guard(ln.Addr().String(), opts.Token, "heksher relay")
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("relay: %w", err)
	}
	// Watches held by the relay's clients end when the server shuts down
	// (they are answered as plain queries), so that a graceful shutdown
	// does not wait for them.
	base, cancel := context.WithCancel(context.Background())
	s := &Server{ln: ln, done: make(chan struct{}), cancel: cancel, srv: &http.Server{
		Handler:     answerDeadline(opts.AnswerTimeout, guard(r.Handler())),
		ErrorLog:    slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return base },
	}}
	s.srv.RegisterOnShutdown(cancel)
	httpguard.Limits{}.Apply(s.srv)
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			opts.Logger.Error("relay: server stopped", "err", err)
		}
	}()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the server's base URL, "http://<addr>", with no trailing
// slash.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Close stops the server: held watches are answered at once, other
// requests in flight are waited for until ctx ends, then cut. Idempotent.
func (s *Server) Close(ctx context.Context) error {
	s.cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	<-s.done
	if err != nil {
		return fmt.Errorf("relay: close: %w", err)
	}
	return nil
}

// answerDeadline puts a write deadline of d on each answer, set when its
// header is written. The server has no WriteTimeout (it would cut the
// watches, which are held before anything is written), so without it a
// client that never reads would block the answer's write for ever: its
// goroutine and the answer held, beyond the cap on watches.
func answerDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		next.ServeHTTP(&deadlineWriter{ResponseWriter: w, d: d}, req)
	})
}

// deadlineWriter sets the write deadline when the answer starts.
type deadlineWriter struct {
	http.ResponseWriter
	d   time.Duration
	set bool
}

func (dw *deadlineWriter) start() {
	if !dw.set {
		dw.set = true
		// A writer that cannot set deadlines (not a connection) has
		// nothing to hold.
		_ = http.NewResponseController(dw.ResponseWriter).SetWriteDeadline(time.Now().Add(dw.d))
	}
}

func (dw *deadlineWriter) WriteHeader(status int) {
	dw.start()
	dw.ResponseWriter.WriteHeader(status)
}

func (dw *deadlineWriter) Write(b []byte) (int, error) {
	dw.start()
	return dw.ResponseWriter.Write(b)
}

func (dw *deadlineWriter) Unwrap() http.ResponseWriter { return dw.ResponseWriter }
