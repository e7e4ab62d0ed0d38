package process

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/heksher-go/heksher/host/hostapi"
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
	// Backoff is the wait before each restart.
	Backoff Backoff
	// MaxRestarts is how many restarts in a row (without a successful
	// delivery in between) are tried before the plugin is given up
	// ([ErrFailed]). Default 5.
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
	Output hostapi.OutputBudget
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

// Backoff is an exponential backoff: Initial, then doubling up to Max.
type Backoff struct {
	// Initial is the first wait. Default 100ms.
	Initial time.Duration
	// Max caps the wait. Default 10s.
	Max time.Duration
}

// delay returns the wait before the n-th restart in a row (n >= 1).
func (b Backoff) delay(n int) time.Duration {
	d := b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

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
		{&c.Backoff.Initial, 100 * time.Millisecond},
		{&c.Backoff.Max, 10 * time.Second},
	} {
		if *d.v < 0 {
			return c, fmt.Errorf("%w: plugin %q: negative duration %v", ErrConfig, c.Name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	c.Backoff.Max = max(c.Backoff.Max, c.Backoff.Initial)
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
