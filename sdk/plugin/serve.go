package plugin

import (
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

// Option configures [Serve].
type Option func(*serveConfig)

type serveConfig struct {
	level       slog.Leveler
	parentPoll  time.Duration
	watchParent bool
}

// WithLogLevel sets the lowest level the plugin's logger passes to the host
// (which applies its own level too). The default is slog.LevelDebug.
func WithLogLevel(l slog.Leveler) Option {
	return func(c *serveConfig) { c.level = l }
}

// Serve runs p as a plugin of the Heksher host and returns when the host
// shuts it down. Call it from main:
//
//	func main() {
//		if err := plugin.Serve(&myPlugin{}); err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//	}
//
// Serve performs go-plugin's handshake (protocol version
// [pluginv1.ProtocolVersion], the HEKSHER_PLUGIN magic cookie, gRPC only,
// mutual TLS when the host asks for it), serves the plugin's gRPC service,
// and sends the plugin's log lines to the host. Anything the plugin writes
// to os.Stdout or os.Stderr after Serve starts reaches the host's log as
// plain lines; log through [InitRequest.Logger] for levels and attributes.
//
// Serve also watches its parent process: if the host dies without stopping
// the plugin (killed with SIGKILL, for example), the plugin exits within
// about half a second rather than running on as an orphan. On Linux the host
// asks the kernel for the same guarantee; the watch covers other systems.
// This, and go-plugin itself when the handshake fails after the cookie check,
// are the only ways Serve ends the process.
//
// # Errors
//
// [ErrNotLaunchedByHost] when the binary is run by hand.
func Serve(p Plugin, opts ...Option) error {
	if os.Getenv(pluginv1.MagicCookieKey) != pluginv1.MagicCookieValue {
		return ErrNotLaunchedByHost
	}
	cfg := serveConfig{level: slog.LevelDebug, parentPoll: 250 * time.Millisecond, watchParent: true}
	for _, o := range opts {
		o(&cfg)
	}
	// go-plugin swaps os.Stderr for a pipe it forwards to the host as plain
	// lines; the process's real stderr is what the host reads records from.
	stderr := os.Stderr
	logger := slog.New(newHostLogHandler(stderr, cfg.level))
	if cfg.watchParent {
		go watchParent(hostPID(), cfg.parentPoll, logger)
	}
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake(),
		Plugins: goplugin.PluginSet{
			pluginv1.PluginName: &grpcPlugin{impl: p, logger: logger},
		},
		GRPCServer: goplugin.DefaultGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "go-plugin", Output: stderr, Level: hclog.Info, JSONFormat: true,
		}),
	})
	return nil
}

// Handshake is the go-plugin handshake of Heksher plugins; the host uses the
// same one.
func Handshake() goplugin.HandshakeConfig {
	return goplugin.HandshakeConfig{
		ProtocolVersion:  pluginv1.ProtocolVersion,
		MagicCookieKey:   pluginv1.MagicCookieKey,
		MagicCookieValue: pluginv1.MagicCookieValue,
	}
}

// hostPID is the host's pid as the host passed it, or else the current
// parent's.
func hostPID() int {
	if pid, err := strconv.Atoi(os.Getenv(pluginv1.HostPIDKey)); err == nil && pid > 0 {
		return pid
	}
	return os.Getppid()
}

// watchParent exits the process once it has been re-parented, i.e. its host
// died. Exiting is the only safe reaction: nobody is left to talk to.
func watchParent(ppid int, every time.Duration, logger *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		if os.Getppid() != ppid {
			logger.Warn("host process is gone; exiting", "host_pid", ppid)
			os.Exit(1)
		}
	}
}

// newHostLogHandler writes JSON lines in the shape go-plugin's host parses
// (@level, @message, then the attributes), so plugin log records reach the
// host's logger with their level and attributes.
func newHostLogHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				// go-plugin parses exactly this layout; anything else
				// makes the host log the line as unparsed text.
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", hclogLevel(a.Value.Any()))
			case slog.MessageKey:
				return slog.Attr{Key: "@message", Value: a.Value}
			}
			return a
		},
	})
}

func hclogLevel(v any) string {
	l, _ := v.(slog.Level)
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warn"
	case l >= slog.LevelInfo:
		return "info"
	case l >= slog.LevelDebug:
		return "debug"
	}
	return "trace"
}
