package plugintest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/process"
	"github.com/heksher-go/heksher/host/wasm"
	"github.com/heksher-go/heksher/pluginapi"
)

// Kind is how a plugin runs.
type Kind string

// The plugin kinds.
const (
	KindWasm    Kind = "wasm"    // a WebAssembly module (host/wasm)
	KindProcess Kind = "process" // an executable (host/process)
)

// ErrNotSubscribed is returned by the Send methods of [Plugin] for an event
// kind the plugin did not subscribe to: the host would not deliver it.
var ErrNotSubscribed = errors.New("plugintest: plugin is not subscribed to this event kind")

// Options configure [Open] and [New]. The zero value loads the plugin with
// no config, no settings and the runtimes' defaults.
type Options struct {
	// Name is the plugin's name; "" means the file's base name without
	// its extension.
	Name string
	// Kind says how to run the file; "" decides by its content: a file
	// that starts with the wasm magic number is a wasm module, anything
	// else a process plugin.
	Kind Kind
	// Config is the plugin's config, as the host configuration's "config".
	Config json.RawMessage
	// SHA256 is the file's expected hex SHA-256; "" skips the check.
	SHA256 string
	// Settings answers the plugin's lookups; nil means NewSettings(nil).
	Settings *Settings
	// Deadline bounds each delivery; 0 means the runtime's default (1 s
	// for wasm, 5 s for a process).
	Deadline time.Duration
	// StartTimeout bounds the plugin's start: a wasm module's
	// instantiation and init, a process plugin's handshake and Init; 0
	// means the runtime's default (10 s), as in the host. A Go wasm guest
	// tested under the race detector on a busy machine may need more.
	StartTimeout time.Duration
	// Env is a process plugin's environment.
	Env []string
	// Logger, if set, also receives everything the plugin logs.
	Logger *slog.Logger
	// MaxLogLines caps the log lines kept (and counts the rest, see
	// [Plugin.LogsDropped]), so that a plugin that floods its log cannot
	// fill the test's memory; 0 means [DefaultMaxLogLines]. The plugin's
	// output budget (the runtime's default, 1 MiB/s) applies before it.
	MaxLogLines int
	// CacheDir is the wasm compilation cache. "" means a directory
	// "heksher-go/plugintest-wasm" under [os.UserCacheDir] (in memory
	// when there is none), so that loads after the first in any test
	// binary are warm (in memory when that directory cannot be made);
	// "-" keeps it in memory.
	CacheDir string
}

// Plugin is a plugin loaded by [Open] or [New], with the fake [Settings] it
// reads and a record of what it logged. Its Send methods deliver one event
// each, numbered 1, 2, … as the host numbers them. A Plugin is meant to be
// driven from one goroutine; Logs, Lookups and Status may be called from any.
type Plugin struct {
	kind     Kind
	plugin   pluginapi.Plugin
	rt       *wasm.Runtime // nil for a process plugin
	settings *Settings
	rec      *recorder

	mu  sync.Mutex
	seq uint64

	closeOnce sync.Once
	closeErr  error
}

// Open loads the plugin at path: a wasm module in a runtime of its own, or
// a process plugin started as the host starts it. It returns once the plugin
// is initialised, its manifest known; the manifest's declarations are then
// given to the plugin's [Settings] (see [Settings.Declare]).
//
// # Errors
//
// The file cannot be read; a checksum mismatch; a wasm module that does not
// validate against the ABI (matching [wasm.ErrInvalidModule]); a failed
// init or start (wrapping the runtime's error).
func Open(ctx context.Context, path string, opts Options) (*Plugin, error) {
	kind := opts.Kind
	if kind == "" {
		k, err := DetectKind(path)
		if err != nil {
			return nil, err
		}
		kind = k
	}
	name := opts.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	settings := opts.Settings
	if settings == nil {
		settings = NewSettings(nil)
	}
	rec := &recorder{max: opts.MaxLogLines}
	if rec.max <= 0 {
		rec.max = DefaultMaxLogLines
	}
	var next slog.Handler
	if opts.Logger != nil {
		next = opts.Logger.Handler()
	}
	log := slog.New(&handler{rec: rec, next: next})
	p := &Plugin{kind: kind, settings: settings, rec: rec}
	switch kind {
	case KindWasm:
		cache := opts.CacheDir
		switch cache {
		case "":
			// The default is best effort: without a writable user cache
			// directory the cache stays in memory.
			if dir, err := os.UserCacheDir(); err == nil {
				cache = filepath.Join(dir, "heksher-go", "plugintest-wasm")
				if os.MkdirAll(cache, 0o700) != nil {
					cache = ""
				}
			}
		case "-":
			cache = ""
		}
		rt, err := wasm.NewRuntime(ctx, wasm.RuntimeConfig{CacheDir: cache, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("plugintest: %s: %w", name, err)
		}
		wp, err := rt.Load(ctx, wasm.PluginConfig{
			Name: name, Path: path, SHA256: opts.SHA256, Config: opts.Config,
			Deadline: opts.Deadline, InitTimeout: opts.StartTimeout,
		}, settings)
		if err != nil {
			_ = rt.Close(ctx)
			return nil, fmt.Errorf("plugintest: %w", err)
		}
		p.rt, p.plugin = rt, wp
	case KindProcess:
		pp, err := process.Start(ctx, process.Config{
			Name: name, Path: path, SHA256: opts.SHA256, Config: opts.Config,
			Deadline: opts.Deadline, StartTimeout: opts.StartTimeout, Env: opts.Env, Logger: log,
		}, settings)
		if err != nil {
			return nil, fmt.Errorf("plugintest: %w", err)
		}
		p.plugin = pp
	default:
		return nil, fmt.Errorf("plugintest: %s: unknown kind %q (want %q or %q)", name, kind, KindWasm, KindProcess)
	}
	settings.Declare(p.plugin.Manifest().Declarations)
	return p, nil
}

// New is [Open] for tests: it fails tb at once if the plugin does not load,
// and closes the plugin when the test ends.
//
// Loading (a wasm module's compilation, then its start bounded by
// Options.StartTimeout) is bounded by the test's deadline (go test
// -timeout), less a tenth of the time left (at most a minute) so that the
// test fails with the plugin's error rather than a timeout panic; without a
// deadline (a benchmark, -timeout 0) by [DefaultLoadTimeout] plus
// StartTimeout. A fresh Go wasm module's first compilation under the race
// detector on a loaded 2-core machine can take most of a minute.
func New(tb testing.TB, path string, opts Options) *Plugin {
	tb.Helper()
	ctx, cancel := loadContext(tb, opts)
	defer cancel()
	p, err := Open(ctx, path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			tb.Errorf("closing %s: %v", p.Name(), err)
		}
	})
	return p
}

// DefaultLoadTimeout bounds [New]'s loading of a plugin, plus
// Options.StartTimeout, when the test has no deadline.
const DefaultLoadTimeout = 5 * time.Minute

// loadContext is New's bound on loading (see New).
func loadContext(tb testing.TB, opts Options) (context.Context, context.CancelFunc) {
	if d, ok := tb.(interface{ Deadline() (time.Time, bool) }); ok {
		if end, ok := d.Deadline(); ok {
			margin := min(time.Until(end)/10, time.Minute)
			return context.WithDeadline(context.Background(), end.Add(-margin))
		}
	}
	return context.WithTimeout(context.Background(), DefaultLoadTimeout+max(opts.StartTimeout, 0))
}

// DetectKind says how the file at path runs: [KindWasm] when it starts with
// the wasm magic number, else [KindProcess].
func DetectKind(path string) (Kind, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("plugintest: %w", err)
	}
	defer func() { _ = f.Close() }()
	head := make([]byte, 4)
	if _, err := io.ReadFull(f, head); err == nil && bytes.Equal(head, []byte("\x00asm")) {
		return KindWasm, nil
	}
	return KindProcess, nil
}

// Name returns the plugin's name.
func (p *Plugin) Name() string { return p.plugin.Name() }

// Kind returns how the plugin runs.
func (p *Plugin) Kind() Kind { return p.kind }

// Manifest returns what the plugin declared at init.
func (p *Plugin) Manifest() pluginapi.Manifest { return p.plugin.Manifest() }

// Settings returns the fake settings the plugin reads.
func (p *Plugin) Settings() *Settings { return p.settings }

// Status returns the plugin's status as the host would show it.
func (p *Plugin) Status() pluginapi.Status { return p.plugin.Status() }

// Logs returns what was logged for the plugin so far, oldest first: its own
// log lines (and, for wasm, its stdout and stderr), and its runtime's lines
// about it.
func (p *Plugin) Logs() []Log {
	logs, _ := p.rec.all()
	return logs
}

// LogsDropped returns how many log lines were not kept because
// [Options].MaxLogLines were kept already (since the last [Plugin.Reset]).
func (p *Plugin) LogsDropped() uint64 {
	_, n := p.rec.all()
	return n
}

// Lookups returns the lookups the plugin made so far, oldest first.
func (p *Plugin) Lookups() []Lookup { return p.settings.Lookups() }

// Reset forgets the recorded logs and lookups, e.g. after init.
func (p *Plugin) Reset() {
	p.rec.reset()
	p.settings.Reset()
}

// Send delivers ev (one of the event package's types) as the next event and
// returns the plugin's answer: nil, the error it returned, or its failure
// (a trap, a timeout, a crash). ev's header is used as it is; the Send…
// helpers fill it in. As in the host, an event of a kind the plugin did not
// subscribe to, or a change of a setting it neither declared nor selected
// ([pluginapi.Manifest.WantsSetting]), is not delivered: Send returns
// [ErrNotSubscribed]. A change of a setting the plugin did not declare is
// marked unreadable ([event.Delivery.Unreadable]), as its lookups of it
// answer [pluginapi.ErrNotDeclared].
func (p *Plugin) Send(ctx context.Context, ev event.Event) error {
	m := p.plugin.Manifest()
	if !m.Subscriptions.Has(ev.Kind()) {
		return fmt.Errorf("%w: %s (%s subscribed to %v)", ErrNotSubscribed, ev.Kind(), p.Name(), m.Subscriptions.Kinds())
	}
	var unreadable bool
	if sc, ok := ev.(*event.SettingChanged); ok {
		if !m.WantsSetting(sc.Setting) {
			return fmt.Errorf("%w: setting_changed of %q (%s receives the settings it declares and selects: %v)",
				ErrNotSubscribed, sc.Setting, p.Name(), m.Settings)
		}
		unreadable = !slices.ContainsFunc(m.Declarations, func(d pluginapi.Declaration) bool { return d.Name == sc.Setting })
	}
	p.mu.Lock()
	p.seq++
	seq := p.seq
	p.mu.Unlock()
	return p.plugin.Deliver(ctx, event.Delivery{Event: ev, Seq: seq, Unreadable: unreadable})
}

func (p *Plugin) header() event.Header {
	p.mu.Lock()
	defer p.mu.Unlock()
	return event.Header{Seq: p.seq + 1, Time: time.Now()}
}

// SendDeclared sends the answer to the declaration of setting: outcome is
// the server's ("created", "uptodate", "upgraded", "outdated",
// "mismatch", "rejected"), and the setting is tracked unless the outcome is
// "mismatch" or "rejected".
func (p *Plugin) SendDeclared(ctx context.Context, setting, outcome string) error {
	version := "1.0"
	for _, d := range p.Manifest().Declarations {
		if d.Name == setting && d.Version != "" {
			version = d.Version
		}
	}
	return p.Send(ctx, &event.Declared{Header: p.header(), Setting: setting, Version: version,
		Outcome: outcome, Tracked: outcome != "mismatch" && outcome != "rejected"})
}

// SendUpdateOK sends a successful update that changed the named settings
// (none: a 304, nothing changed).
func (p *Plugin) SendUpdateOK(ctx context.Context, changed ...string) error {
	return p.Send(ctx, &event.UpdateOK{Header: p.header(), NotModified: len(changed) == 0,
		ETag: `"plugintest"`, Changed: changed, Duration: time.Millisecond})
}

// SendUpdateError sends a failed update: err is the failure and
// consecutive the failures in a row, this one included.
func (p *Plugin) SendUpdateError(ctx context.Context, err error, consecutive int) error {
	h := p.header()
	return p.Send(ctx, &event.UpdateError{Header: h, Err: err, ConsecutiveFailures: consecutive,
		LastSuccess: h.Time.Add(-time.Minute), Duration: time.Millisecond})
}

// SendSettingChanged gives setting the rules in the plugin's [Settings]
// (so that the plugin's lookups see them) and sends the change, with the
// rules before and after.
func (p *Plugin) SendSettingChanged(ctx context.Context, setting string, rules ...event.Rule) error {
	old, now := p.settings.SetRules(setting, rules...)
	return p.Send(ctx, &event.SettingChanged{Header: p.header(), Setting: setting, Old: old, New: now})
}

// SendInitialSettingChanged gives setting the rules in the plugin's
// [Settings] and sends the change as the host's first update after it
// starts sends it: a start-up change, whose old rules were never retrieved
// ([event.SettingChanged.Initial]).
func (p *Plugin) SendInitialSettingChanged(ctx context.Context, setting string, rules ...event.Rule) error {
	_, now := p.settings.SetRules(setting, rules...)
	return p.Send(ctx, &event.SettingChanged{Header: p.header(), Setting: setting, New: now})
}

// SendClosing sends the last event of a client's life: the host stops
// ([event.ClosingShutdown]).
func (p *Plugin) SendClosing(ctx context.Context) error {
	return p.SendClosingReason(ctx, event.ClosingShutdown)
}

// SendClosingReason sends the closing event with a reason: the host stops,
// or a configuration reload replaces or removes the plugin.
func (p *Plugin) SendClosingReason(ctx context.Context, reason event.ClosingReason) error {
	return p.Send(ctx, &event.Closing{Header: p.header(), Reason: reason})
}

// Close stops the plugin and releases its runtime. Idempotent.
func (p *Plugin) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.closeErr = p.plugin.Close(ctx)
		if p.rt != nil {
			p.closeErr = errors.Join(p.closeErr, p.rt.Close(ctx))
		}
	})
	return p.closeErr
}

// Rule returns a rule with the given value (marshalled to JSON) and
// conditions given as feature, value pairs, e.g. Rule(10, "env", "prod").
// Rule ids are left 0.
func Rule(value any, featureValues ...string) event.Rule {
	b, err := json.Marshal(value)
	if err != nil {
		panic(fmt.Sprintf("plugintest.Rule: %v", err))
	}
	r := event.Rule{Value: b}
	for i := 0; i+1 < len(featureValues); i += 2 {
		r.Conditions = append(r.Conditions, event.Condition{Feature: featureValues[i], Value: featureValues[i+1]})
	}
	return r
}
