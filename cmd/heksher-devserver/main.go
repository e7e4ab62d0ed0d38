// Command heksher-devserver runs the Heksher-compatible server on its own:
// an in-memory Heksher v1 API for local development, optionally seeded
// from YAML and persisted to a file. See docs/DEVSERVER.md.
//
// Usage:
//
//	heksher-devserver -addr 127.0.0.1:8765 -context-features user,trust,theme [-seed seed.yaml] [-data state.json]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/heksher-go/heksher/internal/server"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "heksher-devserver:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	addr            string
	features        []string
	seed            string
	data            string
	allowRemote     bool
	fixes           server.Fixes
	logLevel        slog.Level
	shutdownTimeout time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("heksher-devserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	var features, level, fixes string
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8765", "address to listen on (loopback unless -allow-remote)")
	fs.StringVar(&features, "context-features", "", "comma-separated context features to create at start, in hierarchy order")
	fs.StringVar(&c.seed, "seed", "", "YAML file with context features, settings and rules to load at start")
	fs.StringVar(&c.data, "data", "", "JSON file keeping the state across restarts (rewritten atomically after each change)")
	fs.BoolVar(&c.allowRemote, "allow-remote", false, "allow listening on a non-loopback address")
	fs.StringVar(&fixes, "fix", "", "comma-separated reference behaviours to replace by the intended ones: all, "+strings.Join(server.FixNames(), ", "))
	fs.StringVar(&level, "log-level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long to wait for in-flight requests on SIGINT/SIGTERM")
	err := fs.Parse(args)
	if err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if features != "" {
		for _, f := range strings.Split(features, ",") {
			c.features = append(c.features, strings.TrimSpace(f))
		}
	}
	if err := c.logLevel.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	if c.fixes, err = server.ParseFixes(fixes); err != nil {
		return nil, fmt.Errorf("-fix: %w", err)
	}
	if err := checkAddr(c.addr, c.allowRemote); err != nil {
		return nil, err
	}
	return c, nil
}

// checkAddr refuses a non-loopback listening address unless allowed: the
// server has no authentication.
func checkAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-addr %q is not a loopback address; the server has no authentication, pass -allow-remote to serve it anyway", addr)
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: c.logLevel}))
	eng, err := server.New(server.Options{
		ContextFeatures: c.features,
		DataFile:        c.data,
		Fix:             c.fixes,
		Logger:          log,
	})
	if err != nil {
		return err
	}
	if c.seed != "" {
		seed, err := server.LoadSeedFile(c.seed)
		if err != nil {
			return err
		}
		if err := eng.ApplySeed(ctx, seed); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: eng.Handler(), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("listening", "url", "http://"+ln.Addr().String(), "data", c.data, "seed", c.seed)

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return eng.PersistError()
}
