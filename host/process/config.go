package process

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/heksher-go/heksher/backoff"
	"github.com/heksher-go/heksher/pluginapi"
)

// Config describes one process plugin. The zero value of every field but
// Name and Path means its default.
type Config struct {
	// Name identifies the plugin in logs, status and lookups. Required.
	Name string
	// Path is the plugin binary. Required. It is started directly, never
	// through a shell.
	Path string
	// Args are passed to the binary after its name.
	Args []string
	// Env is the plugin's environment. The host's own environment is not
	// passed on, so a plugin sees only these variables and go-plugin's.
	Env []string
	// SHA256 is the expected hex SHA-256 of the binary. When set, the binary
	// is hashed before every start and refused on a mismatch. Default: no
	// check.
	SHA256 string
	// Config is passed to the plugin's Init as JSON. Default: none.
	Config json.RawMessage
	// Deadline caps every call into the plugin (a delivery may end sooner
	// by its ctx). Default 5s.
	Deadline time.Duration
	// StartTimeout bounds the handshake plus Init of one process. Default 10s.
	StartTimeout time.Duration
	// HealthInterval is the time between health checks of an idle plugin;
	// a failed check restarts it. Default 5s.
	HealthInterval time.Duration
	// Backoff is the wait before each restart in a row: Initial, doubling
	// up to Max, each wait shortened by up to Jitter of itself (the host's
	// one retry schedule, [backoff.Policy]). Default 100 ms, 30 s, 0.2.
	Backoff Backoff
	// MaxRestarts is how many restarts in a row are tried before the
	// plugin is given up: its state becomes failed, deliveries return
	// [ErrFailed], and no process is started until [Plugin.Restart].
	// Restarts are in a row while no process of the plugin has run for
	// [StableRun]. Default 5.
	MaxRestarts int
	// TimeoutStrikes is how many deliveries in a row may hit their deadline
	// before the process is killed and restarted. Default 2.
	TimeoutStrikes int
	// Logger receives the host's messages about the plugin and the plugin's
	// own log lines, with a "plugin" attribute. Default: discard.
	Logger *slog.Logger
	// Output bounds what the plugin writes to Logger: its log records and
	// every line of its stdout and stderr, forwarded or not, together. Lines
	// over it are dropped and counted (Status's OutputDroppedLines and
	// OutputDroppedBytes), and a summary is logged once per interval. The
	// zero value means 1 MiB/s with a 256 KiB burst and 16 KiB lines.
	Output pluginapi.OutputBudget
	// SocketDir is where the plugin's private socket directory (mode 0700)
	// is created. Default: the system's temporary directory. Its path must
	// be short enough for the sockets inside (at most about 50 bytes; unix
	// socket paths are limited to 103 bytes): Start refuses a longer one
	// with ErrConfig.
	SocketDir string

	// isolation forces how the process tree is isolated (tests); the zero
	// value picks the first the system permits.
	isolation isolation
}

// Backoff is the restart schedule, the host's one retry schedule (package
// backoff): its zero value means the defaults.
type Backoff = backoff.Policy

// StableRun is how long a plugin process must have run for its failure to
// count as a first failure again: failures of processes that ran less are
// restarts in a row, whatever deliveries they handled in between.
const StableRun = time.Minute

// withDefaults validates c and returns a copy with defaults applied.
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		return c, fmt.Errorf("%w: Name is empty", ErrConfig)
	}
	if c.Path == "" {
		return c, fmt.Errorf("%w: plugin %q: Path is empty", ErrConfig, c.Name)
	}
	if c.SHA256 != "" {
		c.SHA256 = strings.ToLower(c.SHA256)
		if b, err := hex.DecodeString(c.SHA256); err != nil || len(b) != 32 {
			return c, fmt.Errorf("%w: plugin %q: SHA256 %q is not 64 hex digits", ErrConfig, c.Name, c.SHA256)
		}
	}
	if len(c.Config) > 0 && !json.Valid(c.Config) {
		return c, fmt.Errorf("%w: plugin %q: Config is not valid JSON", ErrConfig, c.Name)
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&c.Deadline, 5 * time.Second},
		{&c.StartTimeout, 10 * time.Second},
		{&c.HealthInterval, 5 * time.Second},
		{&c.Backoff.Initial, 0},
		{&c.Backoff.Max, 0},
	} {
		if *d.v < 0 {
			return c, fmt.Errorf("%w: plugin %q: negative duration %v", ErrConfig, c.Name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	c.Backoff = c.Backoff.Normalize()
	if c.MaxRestarts <= 0 {
		c.MaxRestarts = 5
	}
	if c.TimeoutStrikes <= 0 {
		c.TimeoutStrikes = 2
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Logger = c.Logger.With("plugin", c.Name)
	c.Args = append([]string(nil), c.Args...)
	c.Env = append([]string(nil), c.Env...)
	c.Config = append(json.RawMessage(nil), c.Config...)
	return c, nil
}
