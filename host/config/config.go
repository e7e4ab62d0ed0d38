package config

import (
	"time"

	"github.com/heksher-go/heksher/internal/outbudget"
)

// Defaults applied by [Config.WithDefaults].
const (
	DefaultUpdateInterval  = 30 * time.Second
	DefaultStartupTimeout  = 5 * time.Second
	DefaultRequestTimeout  = 10 * time.Second
	DefaultAdminListen     = "127.0.0.1:7070"
	DefaultEmbeddedListen  = "127.0.0.1:7071"
	DefaultStateDir        = "state"
	DefaultPluginDeadline  = 2 * time.Second
	DefaultPluginQueueSize = 64
	DefaultWasmMemoryLimit = ByteSize(32 << 20)
	DefaultOutputRate      = ByteSize(outbudget.DefaultRate)
	DefaultOutputBurst     = ByteSize(outbudget.DefaultBurst)
	DefaultOutputMaxLine   = ByteSize(outbudget.DefaultMaxLine)
	DefaultEventsShown     = 50

	// DefaultPluginStartTimeout bounds a plugin's start (see Plugin.StartTimeout).
	DefaultPluginStartTimeout = 10 * time.Second
)

// Config is the whole heksher-host configuration. Its zero value is a valid
// configuration: an embedded server with no seed, no plugins, the admin
// server on 127.0.0.1:7070 and the state in ./state.
type Config struct {
	// Service is the Heksher service to use. With no URL the host starts the
	// compatible server in-process (see Embedded).
	Service Service `yaml:"service"`
	// Embedded configures the in-process server used when Service.URL is "".
	Embedded Embedded `yaml:"embedded"`
	// UpdateInterval is the time between update requests; default 30s.
	UpdateInterval Duration `yaml:"update_interval"`
	// StartupTimeout bounds how long start-up waits for the first successful
	// update before serving the saved snapshot or the defaults; default 5s.
	StartupTimeout Duration `yaml:"startup_timeout"`
	// ContextFeatures is the ordered list of context features the host
	// expects the service to have.
	ContextFeatures []string `yaml:"context_features"`
	// ContextDefaults gives a value to features a lookup does not name.
	ContextDefaults map[string]string `yaml:"context_defaults"`
	// TrackedContexts says which rules to download: feature → values, where
	// the value "*" tracks every value of the feature.
	TrackedContexts map[string][]string `yaml:"tracked_contexts"`
	// Settings are settings the host itself declares, visible in the status
	// page and the lookup API whether or not a plugin reads them.
	Settings []Setting `yaml:"settings"`
	// Plugins are the plugins to load.
	Plugins []Plugin `yaml:"plugins"`
	// Admin configures the status page, lookup API and metrics server.
	Admin Admin `yaml:"admin"`
	// Relay configures relay mode: the Heksher API served to downstream
	// clients from a replica of the service (relay.go).
	Relay Relay `yaml:"relay"`
	// StateDir holds the last good snapshot and the wasm compilation cache;
	// default "state" beside the configuration file.
	StateDir string `yaml:"state_dir"`
	// Log configures the host's own log output.
	Log Log `yaml:"log"`
}

// Service is how to reach a Heksher service.
type Service struct {
	// URL is the service's base URL, e.g. "https://heksher.internal:8888".
	// "" starts the embedded server.
	URL string `yaml:"url"`
	// Headers are sent with every request (e.g. Authorization).
	Headers map[string]string `yaml:"headers"`
	// HeadersFromEnv maps a header name to the environment variable that
	// holds its value, so secrets stay out of the file. A variable that is
	// unset or empty is an error at start-up.
	HeadersFromEnv map[string]string `yaml:"headers_from_env"`
	// Timeout bounds each HTTP request; default 10s.
	Timeout Duration `yaml:"timeout"`
	// Watch lets the client watch its query (a long poll held by the
	// server until the answer changes) when the service offers it; default
	// true. false polls every update_interval, for a proxy that cuts long
	// requests.
	Watch Switch `yaml:"watch"`
	// TLS configures HTTPS.
	TLS TLS `yaml:"tls"`
}

// TLS configures the HTTPS client used for the service.
type TLS struct {
	// CAFile is a PEM bundle of extra roots to trust.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate for mutual TLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the server's certificate.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify disables certificate checks; for tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Embedded configures the in-process compatible server.
type Embedded struct {
	// Listen is the loopback address its HTTP API listens on, so that rules
	// can be changed with curl; default 127.0.0.1:7071. Only loopback
	// addresses are accepted.
	Listen string `yaml:"listen"`
	// Seed is a seed file in the heksher-devserver -seed format; "" starts
	// empty.
	Seed string `yaml:"seed"`
}

// Setting is a setting the host declares itself.
type Setting struct {
	// Name is the setting's name.
	Name string `yaml:"name"`
	// Type is a Heksher type string, e.g. "int", "str", `Enum["a","b"]`.
	Type string `yaml:"type"`
	// ConfigurableFeatures are the features its rules may use, in order.
	ConfigurableFeatures []string `yaml:"configurable_features"`
	// Default is the local default, any YAML value of the setting's type.
	Default any `yaml:"default"`
	// Version is the declaration's version; default "1.0".
	Version string `yaml:"version"`
	// Metadata is sent with the declaration.
	Metadata map[string]any `yaml:"metadata"`
}

// Plugin is one plugin to load.
type Plugin struct {
	// Name identifies the plugin in logs, status and metrics; unique.
	Name string `yaml:"name"`
	// Kind is "wasm" or "process".
	Kind string `yaml:"kind"`
	// Path is the .wasm module or the plugin executable.
	Path string `yaml:"path"`
	// SHA256 is the hex SHA-256 of the file at Path; when set, a file that
	// does not match is refused.
	SHA256 string `yaml:"sha256"`
	// Config is passed to the plugin's init, as JSON.
	Config any `yaml:"config"`
	// Deadline bounds each event delivery; default 2s.
	Deadline Duration `yaml:"deadline"`
	// StartTimeout bounds the plugin's start: a process plugin's handshake
	// and Init, a wasm plugin's instantiation and init (each restart's too).
	// A plugin not ready by then is stopped and shown as failed; it never
	// holds up the host's readiness or the other plugins. Default 10s.
	StartTimeout Duration `yaml:"start_timeout"`
	// MemoryLimit caps a wasm plugin's linear memory (e.g. "32MiB"); default
	// 32MiB. Ignored for process plugins.
	MemoryLimit ByteSize `yaml:"memory_limit"`
	// QueueSize is the number of events that may wait for the plugin before
	// the oldest are dropped; default 64.
	QueueSize int `yaml:"queue_size"`
	// Grants are the capabilities the plugin is given beyond the sandbox.
	Grants Grants `yaml:"grants"`
	// Output bounds what the plugin writes to the host's log.
	Output Output `yaml:"output"`
	// OnDeclarationConflict says what the host does when the service
	// refuses one of the plugin's declarations as conflicting with its own
	// (a 409: another type, other configurable features): "keep" (the
	// default, also for "") keeps the plugin running with the service's
	// declaration in force and shows the conflict in its status; "unload"
	// unloads the plugin once the service has answered.
	OnDeclarationConflict string `yaml:"on_declaration_conflict" json:",omitempty"`
}

// The values of [Plugin].OnDeclarationConflict.
const (
	OnConflictKeep   = "keep"
	OnConflictUnload = "unload"
)

// Output is a plugin's output budget: how much of what it logs and writes
// to stdout and stderr reaches the host's log. Lines over it are dropped
// and counted.
type Output struct {
	// Rate is the bytes per second the budget refills (each line costs
	// its length plus 128 bytes); default 1MiB.
	Rate ByteSize `yaml:"rate"`
	// Burst is the most that may be written at once after a quiet
	// period; default 256KiB, and never less than one line.
	Burst ByteSize `yaml:"burst"`
	// MaxLine is the length past which a line is cut; default 16KiB.
	MaxLine ByteSize `yaml:"max_line"`
}

// Grants are capabilities a plugin receives beyond the default sandbox. A
// wasm plugin gets none of them unless granted; a process plugin always
// sees the host's file system and network, and only Env and
// UndeclaredReads apply to it.
type Grants struct {
	// Dir mounts one host directory into a wasm plugin's file system.
	Dir DirGrant `yaml:"dir"`
	// Env lists environment variables passed to the plugin (by name; the
	// values come from the host's environment).
	Env []string `yaml:"env"`
	// Clock gives a wasm plugin the real clocks (default: a fake clock).
	Clock bool `yaml:"clock"`
	// Random gives a wasm plugin a real random source (default:
	// deterministic).
	Random bool `yaml:"random"`
	// UndeclaredReads lets the plugin look up settings it did not declare.
	UndeclaredReads bool `yaml:"undeclared_reads"`
}

// DirGrant mounts a host directory into a wasm plugin. The zero value
// mounts nothing.
type DirGrant struct {
	// Host is the directory on the host.
	Host string `yaml:"host"`
	// Guest is where the plugin sees it; default "/data".
	Guest string `yaml:"guest"`
	// ReadOnly forbids writes.
	ReadOnly bool `yaml:"read_only"`
}

// Admin configures the admin HTTP server.
type Admin struct {
	// Listen is the address to listen on; default 127.0.0.1:7070. A
	// non-loopback address is refused unless a token is configured.
	Listen string `yaml:"listen"`
	// Token, when set, is required on every request as
	// "Authorization: Bearer <token>".
	Token string `yaml:"token"`
	// TokenFile names a file holding the token (trailing newline ignored);
	// an alternative to Token.
	TokenFile string `yaml:"token_file"`
	// EventsShown is how many recent events the status page lists; default 50.
	EventsShown int `yaml:"events_shown"`
	// OFREPTargetingFeature is the context feature that an OFREP evaluation
	// context's targetingKey gives; "" ignores the targeting key.
	OFREPTargetingFeature string `yaml:"ofrep_targeting_feature"`
	// OFREPStrictContext refuses (INVALID_CONTEXT) OFREP context attributes
	// that the evaluated setting is not configurable by, instead of
	// ignoring them.
	OFREPStrictContext bool `yaml:"ofrep_strict_context"`
}

// Log configures the host's log output (on stderr).
type Log struct {
	// Level is "debug", "info" (default), "warn" or "error".
	Level string `yaml:"level"`
	// Format is "text" (default) or "json".
	Format string `yaml:"format"`
}

// WithDefaults returns a copy of c with every zero field that has a default
// set to it. Slices and maps are shared with c.
func (c Config) WithDefaults() Config {
	if c.UpdateInterval == 0 {
		c.UpdateInterval = Duration(DefaultUpdateInterval)
	}
	if c.StartupTimeout == 0 {
		c.StartupTimeout = Duration(DefaultStartupTimeout)
	}
	if c.Service.Timeout == 0 {
		c.Service.Timeout = Duration(DefaultRequestTimeout)
	}
	if c.Embedded.Listen == "" {
		c.Embedded.Listen = DefaultEmbeddedListen
	}
	if c.Admin.Listen == "" {
		c.Admin.Listen = DefaultAdminListen
	}
	if c.Admin.EventsShown == 0 {
		c.Admin.EventsShown = DefaultEventsShown
	}
	c.Relay = c.Relay.withDefaults()
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if len(c.Settings) > 0 {
		s := make([]Setting, len(c.Settings))
		copy(s, c.Settings)
		for i := range s {
			if s[i].Version == "" {
				s[i].Version = "1.0"
			}
		}
		c.Settings = s
	}
	if len(c.Plugins) > 0 {
		p := make([]Plugin, len(c.Plugins))
		copy(p, c.Plugins)
		for i := range p {
			p[i] = p[i].WithDefaults()
		}
		c.Plugins = p
	}
	return c
}

// WithDefaults returns a copy of p with its defaults filled in.
func (p Plugin) WithDefaults() Plugin {
	if p.Deadline == 0 {
		p.Deadline = Duration(DefaultPluginDeadline)
	}
	if p.QueueSize == 0 {
		p.QueueSize = DefaultPluginQueueSize
	}
	if p.StartTimeout == 0 {
		p.StartTimeout = Duration(DefaultPluginStartTimeout)
	}
	if p.MemoryLimit == 0 && p.Kind == "wasm" {
		p.MemoryLimit = DefaultWasmMemoryLimit
	}
	if p.Output.Rate == 0 {
		p.Output.Rate = DefaultOutputRate
	}
	if p.Output.Burst == 0 {
		p.Output.Burst = DefaultOutputBurst
	}
	if p.Output.MaxLine == 0 {
		p.Output.MaxLine = DefaultOutputMaxLine
	}
	return p
}
