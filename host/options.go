package host

import (
	"log/slog"
	"time"

	"github.com/heksher-go/heksher/dispatch"
	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/config"
)

// Option configures a [Host]. Options never fail; [New] validates once.
type Option func(*options)

type options struct {
	logger  *slog.Logger
	loaders map[string]Loader
	hooks   []Hook
	source  func() (config.Config, error)
}

// WithLogger sets the host's logger. Default: discard.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithLoader sets the runtime for plugins of kind ("wasm", "process"),
// replacing any earlier one for that kind. Default: none, so plugins of a
// kind without a loader fail to load with [ErrNoLoader].
func WithLoader(kind string, l Loader) Option {
	return func(o *options) {
		if o.loaders == nil {
			o.loaders = map[string]Loader{}
		}
		o.loaders[kind] = l
	}
}

// WithConfigSource sets where [Host.Reload] reads the configuration it
// applies (usually config.Load of the file the host started from). Default:
// none; Reload then fails and [Host.Apply] must be used.
func WithConfigSource(f func() (config.Config, error)) Option {
	return func(o *options) { o.source = f }
}

// Hook is an in-process Go subscriber, for programs that embed the host.
// It gets events exactly like a plugin: through its own bounded queue and
// worker, with a deadline on each delivery.
type Hook struct {
	// Name identifies the hook in status and metrics; it must not clash
	// with a plugin name.
	Name string
	// Kinds are the events it wants; 0 means all.
	Kinds event.Set
	// Subscriber receives them.
	Subscriber dispatch.Subscriber
	// QueueSize and Deadline default to the plugin defaults (64, 2s).
	QueueSize int
	Deadline  time.Duration
}

// WithHook adds an in-process hook. May be given several times.
func WithHook(h Hook) Option { return func(o *options) { o.hooks = append(o.hooks, h) } }
