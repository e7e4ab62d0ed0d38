package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/internal/httpguard"
	"github.com/heksher-go/heksher/internal/server"
)

// embedded is the compatible Heksher server run in-process when no service
// URL is configured. It listens on a loopback address so that its API can
// change rules while the host runs.
type embedded struct {
	engine *server.Engine
	srv    *http.Server
	ln     net.Listener
	done   chan struct{}
}

func startEmbedded(ctx context.Context, cfg config.Config, log *slog.Logger) (*embedded, error) {
	if !config.IsLoopback(cfg.Embedded.Listen) {
		return nil, fmt.Errorf("host: embedded server: %q is not a loopback address", cfg.Embedded.Listen)
	}
	eng, err := newEngine(ctx, cfg, slog.New(demoted{log.Handler()}).With("component", "embedded-server"))
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Embedded.Listen)
	if err != nil {
		return nil, fmt.Errorf("host: embedded server: %w", err)
	}
	// No token: loopback Host names only, no cross-origin or form writes
	// (a page in the operator's browser must not change rules).
	guard, err := httpguard.Guard(ln.Addr().String(), "", "heksher-host embedded server")
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("host: embedded server: %w", err)
	}
	e := &embedded{engine: eng, ln: ln, done: make(chan struct{}),
		srv: &http.Server{Handler: guard(eng.Handler())}}
	httpguard.Limits{}.Apply(e.srv)
	e.srv.RegisterOnShutdown(eng.CloseWatches) // held watches must not hold up Close
	go func() {
		defer close(e.done)
		if err := e.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("embedded server stopped", "err", err)
		}
	}()
	return e, nil
}

// URL is the embedded server's base URL.
func (e *embedded) URL() string { return "http://" + e.ln.Addr().String() }

// Close stops the server, waiting for requests in flight until ctx ends.
func (e *embedded) Close(ctx context.Context) error {
	err := e.srv.Shutdown(ctx)
	if err != nil {
		_ = e.srv.Close()
	}
	<-e.done
	return err
}

// demoted wraps a handler so that the embedded server's per-request INFO
// records are logged at DEBUG: at the default level the host's log shows
// what the plugins do, not a line per poll.
type demoted struct{ h slog.Handler }

func (d demoted) level(l slog.Level) slog.Level {
	if l < slog.LevelWarn {
		return slog.LevelDebug
	}
	return l
}

func (d demoted) Enabled(ctx context.Context, l slog.Level) bool { return d.h.Enabled(ctx, d.level(l)) }

func (d demoted) Handle(ctx context.Context, r slog.Record) error {
	r.Level = d.level(r.Level)
	return d.h.Handle(ctx, r)
}

func (d demoted) WithAttrs(as []slog.Attr) slog.Handler { return demoted{d.h.WithAttrs(as)} }
func (d demoted) WithGroup(n string) slog.Handler       { return demoted{d.h.WithGroup(n)} }
