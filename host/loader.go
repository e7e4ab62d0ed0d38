package host

import (
	"context"
	"encoding/json"
	"time"

	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/pluginapi"
)

// Loader starts plugins of one kind ("wasm", "process"). The plugins it
// returns must already be initialised (their manifest known). Load should
// return soon after ctx ends; the host stops waiting for it then (a
// shutdown during a reload) and closes whatever it returns later, so a Load
// may still be running when the next one starts.
type Loader interface {
	// Load starts the plugin described by spec.
	Load(ctx context.Context, spec PluginSpec) (pluginapi.Plugin, error)
}

// LoaderFunc adapts a function to a [Loader].
type LoaderFunc func(ctx context.Context, spec PluginSpec) (pluginapi.Plugin, error)

// Load calls f.
func (f LoaderFunc) Load(ctx context.Context, spec PluginSpec) (pluginapi.Plugin, error) {
	return f(ctx, spec)
}

// PluginSpec is everything a runtime needs to start one plugin.
type PluginSpec struct {
	// Name is the plugin's configured name.
	Name string
	// Path is the module or executable.
	Path string
	// Content is the file's bytes as read and hashed by the host, so the
	// runtime loads exactly what was checked (wasm); process runtimes exec
	// Path and check SHA256 themselves.
	Content []byte
	// SHA256 is the hex digest of Content.
	SHA256 string
	// Config is the plugin's configuration as JSON ("null" when none).
	Config json.RawMessage
	// Deadline bounds each call into the plugin.
	Deadline time.Duration
	// StartTimeout bounds the plugin's start and each restart's: a process
	// plugin's handshake and Init, a wasm plugin's instantiation and init.
	StartTimeout time.Duration
	// MemoryLimit caps a wasm plugin's memory in bytes.
	MemoryLimit int64
	// Grants are the plugin's extra capabilities.
	Grants config.Grants
	// Settings is the host's lookup service for this plugin.
	Settings pluginapi.Settings
	// Output is the plugin's output budget: how much of its log records,
	// stdout and stderr reaches the host's log.
	Output pluginapi.OutputBudget
}

// outputBudget is the runtimes' form of a plugin's configured output budget.
func outputBudget(o config.Output) pluginapi.OutputBudget {
	return pluginapi.OutputBudget{Rate: int64(o.Rate), Burst: int64(o.Burst), MaxLine: int(o.MaxLine)}
}
