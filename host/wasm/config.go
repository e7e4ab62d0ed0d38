package wasm

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/heksher-go/heksher/backoff"
	"github.com/heksher-go/heksher/pluginapi"
)

// RuntimeConfig configures a [Runtime]. The zero value is usable: an
// in-memory compilation cache and a logger that discards.
type RuntimeConfig struct {
	// CacheDir is the directory of the on-disk compilation cache. Compiling
	// a 3.4 MB Go guest takes about 1.5 s on two cores; with a warm cache,
	// loading it takes about 120 ms, so a daemon should always set it. The
	// directory is created if needed and must be private to the host (the
	// cache holds machine code). "" keeps the cache in memory only.
	CacheDir string
	// Logger receives the runtime's logs and every plugin's log calls,
	// stdout and stderr, with a "plugin" attribute. nil discards.
	Logger *slog.Logger
}

// Grants are the capabilities a plugin's config gives it. The zero value
// grants nothing: no file system, no environment variables, a fake clock
// (wazero's deterministic one), and a deterministic random source. There is
// never network access: wasip1 cannot open sockets, and none are pre-opened.
type Grants struct {
	// Dir is a host directory mounted in the guest at GuestDir. Every path
	// the guest names resolves beneath it: ".." stops at it, a symbolic
	// link in it is followed only while it stays beneath it, and the guest
	// cannot make symbolic or hard links. It must exist at Load.
	Dir string
	// GuestDir is where Dir appears in the guest; "" means "/data".
	GuestDir string
	// DirReadOnly mounts Dir read-only: every change answers EROFS.
	DirReadOnly bool
	// Env are the environment variables the guest sees.
	Env map[string]string
	// Clock gives the guest the real wall and monotonic clocks and sleep.
	Clock bool
	// Random gives the guest crypto/rand as its random source.
	Random bool
}

// PluginConfig configures one plugin for [Runtime.Load].
type PluginConfig struct {
	// Name is the plugin's name: its log attribute, its identity in
	// lookups and status. Required.
	Name string
	// Path is the .wasm file to load; exactly one of Path and Bytes is set.
	Path string
	// Bytes is the module itself, instead of Path.
	Bytes []byte
	// SHA256 is the expected hex SHA-256 of the module; "" skips the check.
	SHA256 string
	// Config is handed to the guest's heksher_init; nil passes empty bytes.
	Config json.RawMessage

	// Deadline bounds every event delivery, in addition to the deadline of
	// the caller's context. 0 means 1 s.
	Deadline time.Duration
	// InitTimeout bounds making an instance: instantiation, _initialize and
	// heksher_init (a Go guest's runtime start-up takes about 10 ms, several
	// times more under the race detector). 0 means 10 s.
	InitTimeout time.Duration
	// DisablePreemption puts the plugin in a runtime without wazero's
	// close-on-context-done, which makes guest code several times faster
	// and calls about 1 µs cheaper, but a guest that loops can then never be
	// stopped: only for plugins that are trusted not to hang.
	DisablePreemption bool
	// MemoryLimitPages caps the guest's linear memory, in 64 KiB pages; a
	// guest that grows past it traps. 0 means 256 (16 MiB). A Go guest
	// needs at least 64.
	MemoryLimitPages uint32
	// RecycleAbovePages replaces an instance after a call that left its
	// memory above this many pages (linear memory never shrinks). 0 means
	// three quarters of MemoryLimitPages.
	RecycleAbovePages uint32
	// MaxConsecutiveFailures is the number of failures in a row (trap,
	// timeout, failed restart) after which the plugin is marked failed. 0
	// means 5.
	MaxConsecutiveFailures int
	// Backoff is the wait before the restart after a second failure in a
	// row; it doubles for each further failure, up to MaxBackoff, and each
	// wait is shortened by up to a fifth at random (package backoff). The
	// first failure is restarted at once. 0 means 100 ms.
	Backoff time.Duration
	// MaxBackoff caps Backoff. 0 means 30 s.
	MaxBackoff time.Duration
	// Grants are the plugin's capabilities.
	Grants Grants
	// Output bounds what the plugin writes to the host's log: its log
	// calls, stdout and stderr together. Lines over it are dropped and
	// counted (Status's OutputDroppedLines and OutputDroppedBytes), and a
	// summary is logged once per interval. The zero value means 1 MiB/s
	// with a 256 KiB burst and 16 KiB lines.
	Output pluginapi.OutputBudget
}

// Defaults applied by [Runtime.Load].
const (
	DefaultDeadline               = time.Second
	DefaultInitTimeout            = 10 * time.Second
	DefaultMemoryLimitPages       = 256
	DefaultMaxConsecutiveFailures = 5
	DefaultBackoff                = 100 * time.Millisecond
	DefaultMaxBackoff             = 30 * time.Second
	// MinMemoryLimitPages is the smallest limit accepted. A hand-written
	// guest may live in one page; a Go guest declares 43 pages and needs
	// about 64 to instantiate, so a lower limit refuses it at load.
	MinMemoryLimitPages = 2
)

// withDefaults validates c and fills in its defaults.
func (c PluginConfig) withDefaults() (PluginConfig, error) {
	if c.Name == "" {
		return c, fmt.Errorf("wasm: plugin config: Name is required")
	}
	if (c.Path == "") == (c.Bytes == nil) {
		return c, fmt.Errorf("wasm: plugin %q: exactly one of Path and Bytes must be set", c.Name)
	}
	if c.InitTimeout == 0 {
		c.InitTimeout = DefaultInitTimeout
	}
	if c.Deadline < 0 || c.InitTimeout < 0 || c.Backoff < 0 || c.MaxBackoff < 0 || c.MaxConsecutiveFailures < 0 {
		return c, fmt.Errorf("wasm: plugin %q: negative duration or count in config", c.Name)
	}
	if c.Deadline == 0 {
		c.Deadline = DefaultDeadline
	}
	if c.MemoryLimitPages == 0 {
		c.MemoryLimitPages = DefaultMemoryLimitPages
	}
	if c.MemoryLimitPages < MinMemoryLimitPages || c.MemoryLimitPages > 65536 {
		return c, fmt.Errorf("wasm: plugin %q: MemoryLimitPages %d out of range [%d, 65536]", c.Name, c.MemoryLimitPages, MinMemoryLimitPages)
	}
	if c.RecycleAbovePages == 0 {
		c.RecycleAbovePages = c.MemoryLimitPages / 4 * 3
	}
	if c.MaxConsecutiveFailures == 0 {
		c.MaxConsecutiveFailures = DefaultMaxConsecutiveFailures
	}
	if c.Backoff == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.Grants.Dir != "" && c.Grants.GuestDir == "" {
		c.Grants.GuestDir = "/data"
	}
	return c, nil
}

// backoff returns the wait before a restart after n consecutive failures:
// none after the first; then the shared schedule (package backoff), from
// Backoff doubling up to MaxBackoff, each wait shortened by up to a fifth
// at random so that plugins failing together do not restart in lock-step.
func (c *PluginConfig) backoff(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	return backoff.Policy{Initial: c.Backoff, Max: c.MaxBackoff}.Delay(n - 1)
}
