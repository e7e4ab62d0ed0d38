// Command heksher-devserver runs the Heksher-compatible server on its own:
// an in-memory Heksher v1 API for local development, optionally seeded
// from YAML and persisted to a file. See docs/DEVSERVER.md.
//
// Usage:
//
//	heksher-devserver -addr 127.0.0.1:8765 -context-features user,trust,theme [-seed seed.yaml] [-data state.json]
//	heksher-devserver -version
//
// It exits with 0 after -h, -version or an orderly shutdown on SIGINT or
// SIGTERM; 1 when it cannot serve (a seed or data file it cannot load, an
// address it cannot listen on); 2 for a mistake on the command line (an
// unknown flag, a stray argument, a flag value it refuses). See
// docs/DEVSERVER.md.
//
// Without a token it serves only loopback addresses and loopback Host
// names; with -allow-remote it needs a token (-token or
// $HEKSHER_DEVSERVER_TOKEN).
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

	"github.com/heksher-go/heksher/internal/httpguard"
	"github.com/heksher-go/heksher/internal/server"
	"github.com/heksher-go/heksher/internal/version"
)

func main() {
	os.Exit(exitCode(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

// usageError is a mistake on the command line (exit code 2). reported is set
// when the flag package has already printed it with the usage.
type usageError struct {
	err      error
	reported bool
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// exitCode prints err, unless already printed, and returns the exit code
// for it: 0 for none, 2 for a usage error, 1 for anything else.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	ue, usage := errors.AsType[*usageError](err)
	if !usage || !ue.reported {
		fmt.Fprintln(stderr, "heksher-devserver:", err)
	}
	if usage {
		return 2
	}
	return 1
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
	token           string
	readTimeout     time.Duration
	watchMaxWait    time.Duration
	showVersion     bool
}

// tokenEnv names the environment variable that holds the token when -token
// is not given (a flag's value is visible to every user in ps).
const tokenEnv = "HEKSHER_DEVSERVER_TOKEN"

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("heksher-devserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	var features, level, fixes string
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8765", "address to listen on (loopback unless -allow-remote)")
	fs.StringVar(&features, "context-features", "", "comma-separated context features to create at start, in hierarchy order")
	fs.StringVar(&c.seed, "seed", "", "YAML file with context features, settings and rules to load at start")
	fs.StringVar(&c.data, "data", "", "JSON file keeping the state across restarts (rewritten atomically after each change)")
	fs.BoolVar(&c.allowRemote, "allow-remote", false, "allow listening on a non-loopback address (a token is then required)")
	fs.StringVar(&c.token, "token", "", "require \"Authorization: Bearer <token>\" on every request (default $"+tokenEnv+")")
	fs.DurationVar(&c.readTimeout, "read-timeout", httpguard.DefaultReadBodyTimeout, "how long a client may take to send a request body")
	fs.DurationVar(&c.watchMaxWait, "watch-max-wait", server.DefaultWatchMaxWait, "longest wait a watch (a long poll on queries, docs/DEVSERVER.md) may ask for; 0 turns the watch off, as in the real service")
	fs.StringVar(&fixes, "fix", "", "comma-separated reference behaviours to replace by the intended ones: all, "+strings.Join(server.FixNames(), ", "))
	fs.StringVar(&level, "log-level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long to wait for in-flight requests on SIGINT/SIGTERM")
	fs.BoolVar(&c.showVersion, "version", false, "print the version and exit")
	err := fs.Parse(args)
	if err != nil {
		// The flag package has printed it, with the usage.
		return nil, &usageError{err: err, reported: true}
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
	if c.token == "" {
		c.token = os.Getenv(tokenEnv)
	}
	if c.watchMaxWait < 0 {
		return nil, fmt.Errorf("-watch-max-wait %v: must not be negative", c.watchMaxWait)
	}
	if c.readTimeout <= 0 {
		return nil, fmt.Errorf("-read-timeout %v: must be positive", c.readTimeout)
	}
	if err := checkAddr(c.addr, c.allowRemote, c.token); err != nil {
		return nil, err
	}
	return c, nil
}

// checkAddr refuses a non-loopback listening address unless it is allowed
// and a token guards it.
func checkAddr(addr string, allowRemote bool, token string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if httpguard.IsLoopbackAddr(addr) {
		return nil
	}
	if !allowRemote {
		return fmt.Errorf("-addr %q is not a loopback address; pass -allow-remote and a token (-token or $%s) to serve it anyway", addr, tokenEnv)
	}
	if token == "" {
		return fmt.Errorf("-addr %q is not a loopback address: -allow-remote needs a token (-token or $%s)", addr, tokenEnv)
	}
	return nil
}

// run runs the command: flag mistakes are returned as a *usageError.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		if _, ok := errors.AsType[*usageError](err); ok {
			return err
		}
		return &usageError{err: err}
	}
	if c.showVersion {
		fmt.Fprintln(stdout, version.Line("heksher-devserver"))
		return nil
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: c.logLevel}))
	eng, err := server.New(server.Options{
		ContextFeatures: c.features,
		DataFile:        c.data,
		Fix:             c.fixes,
		Logger:          log,
		Watch:           server.WatchOptions{Enabled: c.watchMaxWait > 0, MaxWait: c.watchMaxWait},
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
	guard, err := httpguard.Guard(ln.Addr().String(), c.token, "heksher-devserver")
	if err != nil {
		_ = ln.Close()
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: guard(eng.Handler())}
	httpguard.Limits{ReadBodyTimeout: c.readTimeout}.Apply(srv)
	srv.RegisterOnShutdown(eng.CloseWatches) // held watches must not hold up the shutdown
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
