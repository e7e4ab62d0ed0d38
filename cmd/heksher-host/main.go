// Command heksher-host runs the Heksher plugin host: the client core, the
// configured wasm and process plugins, and the admin server.
//
//	heksher-host -config host.yaml
//	heksher-host -config host.yaml -check   # check the configuration and what it names, and exit
//	heksher-host -version
//
// With no service URL in the configuration it starts the compatible Heksher
// server in-process. SIGHUP reloads the plugin set from the configuration
// file; SIGINT and SIGTERM shut down gracefully (closing event delivered,
// plugins stopped) within 5 seconds. See docs/CONFIG.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/heksher-go/heksher/host"
	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/internal/version"
)

// shutdownBudget bounds the graceful shutdown; the process exits within 5 s
// of the signal even if a plugin does not cooperate.
const shutdownBudget = 4500 * time.Millisecond

// Exit codes (docs/HOST.md): 0 after -h, -version, a passing -check or an
// orderly shutdown on SIGINT/SIGTERM; 1 when the configuration is invalid or
// the host cannot start; 2 for a command-line mistake.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	// Two Go Ps more than cores: a wasm guest's long call holds its P until
	// it returns, at low priority (host/wasm, lowNice).
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 2)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("heksher-host", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "heksher-host.yaml", "configuration file (see docs/CONFIG.md)")
	checkOnly := fs.Bool("check", false, "check the configuration file, the plugins and files it names, and exit, listing every problem (nothing is started)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "heksher-host: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		fs.Usage()
		return exitUsage
	}
	if *showVersion {
		fmt.Fprintln(stdout, version.Line("heksher-host"))
		return exitOK
	}
	if *checkOnly {
		return check(context.Background(), *cfgPath, stdout, stderr)
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "heksher-host:", err)
		return exitFailed
	}
	cfg = cfg.WithDefaults()
	log := newLogger(cfg.Log, stderr)

	// Signals are caught before anything starts, so a signal during start-up
	// also ends in an orderly shutdown.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	source := func() (config.Config, error) { return config.Load(*cfgPath) }
	h, err := host.New(cfg, host.WithLogger(log), host.WithConfigSource(source),
		host.WithLoader("process", host.ProcessLoader(log)),
		host.WithLoader("wasm", host.WasmLoader(filepath.Join(cfg.StateDir, "wasm-cache"), log)),
	)
	if err != nil {
		fmt.Fprintln(stderr, "heksher-host:", err)
		return exitFailed
	}
	startCtx, cancelStart := context.WithCancel(context.Background())
	defer cancelStart()
	started := make(chan error, 1)
	go func() { started <- h.Start(startCtx) }()
	// A reload runs beside the signal loop, so that SIGINT or SIGTERM
	// during a slow plugin load still stops the host in time: the reload
	// is cancelled (leaving the running set as it was) and awaited.
	reloadCtx, cancelReloads := context.WithCancel(context.Background())
	defer cancelReloads()
	var reloaded chan struct{}
	for {
		select {
		case err := <-started:
			if err != nil {
				log.Error("start-up failed", "err", err)
				return exitFailed
			}
			fmt.Fprintf(stdout, "heksher-host: status page %s (service %s)\n", h.AdminURL(), h.ServiceURL())
			started = nil
		case <-reloaded:
			reloaded = nil
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				switch {
				case started != nil:
					log.Warn("SIGHUP during start-up ignored")
				case reloaded != nil:
					log.Warn("SIGHUP during a reload ignored; send it again once the reload is done")
				default:
					log.Info("SIGHUP: reloading plugins", "config", *cfgPath)
					done := make(chan struct{})
					reloaded = done
					go func() {
						defer close(done)
						ctx, cancel := context.WithTimeout(reloadCtx, 30*time.Second)
						defer cancel()
						_ = h.Reload(ctx) // logged by the host; the running set stays on failure
					}()
				}
				continue
			}
			log.Info("shutting down", "signal", sig.String())
			cancelStart()
			cancelReloads()
			ctx, cancel := context.WithTimeout(context.Background(), shutdownBudget)
			if started != nil {
				<-started
			}
			if reloaded != nil {
				<-reloaded
			}
			err := h.Close(ctx)
			cancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				log.Warn("shutdown", "err", err)
			}
			return exitOK
		}
	}
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
