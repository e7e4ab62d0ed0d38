// Command heksher-plugin runs one heksher plugin (a wasm module or a process
// plugin binary) without a Heksher server, a configuration file or the
// heksher-host daemon: it loads the plugin, gives it a config and setting
// values, fires events named on the command line, and prints what the plugin
// logged and looked up. It also checks a plugin file.
//
//	heksher-plugin run [flags] PLUGIN [EVENT...]    # also: call
//	heksher-plugin validate [flags] PLUGIN
//	heksher-plugin -version
//
// Setting values come from -set flags and a -settings file (YAML or JSON);
// events are words: declared:NAME[:OUTCOME], update-ok[:NAME,…],
// update-error[:MESSAGE], changed:NAME[=VALUE] (or changed:NAME[f=v,…]=VALUE),
// initial:NAME[=VALUE] (a start-up change) and closing[:REASON]. See docs/ABI.md, "Testing your plugin".
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/host/wasm"
	"github.com/heksher-go/heksher/internal/version"
	"github.com/heksher-go/heksher/internal/yamlstrict"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/plugintest"
)

// Exit codes: 0 after -h, -version, a run whose every event was handled or
// a passing validate; 1 when the plugin fails to load, an event fails or the
// file does not validate; 2 for a usage error.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

const usage = `usage:
  heksher-plugin run [flags] PLUGIN [EVENT...]   (or: call)
  heksher-plugin validate [flags] PLUGIN
  heksher-plugin -version

Events:
  declared:NAME[:OUTCOME]       the declaration of NAME was answered (default outcome "created")
  update-ok[:NAME,...]          an update succeeded and changed the named settings (none: a 304)
  update-error[:MESSAGE]        an update failed
  changed:NAME                  NAME changed (old rules: none; new: its current rules)
  changed:NAME[=VALUE]          NAME's rules become one rule VALUE for every context, and it changed
  changed:NAME[f=v,...]=VALUE   NAME's rules become one rule VALUE for f=v,…, and it changed
  initial:NAME[...]             as changed, but a start-up change (old rules never retrieved)
  closing[:REASON]              the plugin's last event; REASON shutdown (default), replaced or removed

Settings file (YAML or JSON):
  greeting:
    default: "hello"            # the server default
    features: [env]             # configurable features (default: the plugin's declaration)
    rules:
      - when: {env: prod}
        value: "hello, prod"
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("heksher-plugin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *showVersion {
		fmt.Fprintln(stdout, version.Line("heksher-plugin"))
		return exitOK
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	switch cmd, rest := fs.Arg(0), fs.Args()[1:]; cmd {
	case "run", "call":
		return runCmd(cmd, rest, stdout, stderr)
	case "validate":
		return validateCmd(rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "heksher-plugin: unknown command %q (want run, call or validate)\n", cmd)
		return exitUsage
	}
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, " ") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

// common are the flags of run and validate.
type common struct {
	kind     string
	config   string
	sha      string
	deadline time.Duration
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.kind, "kind", "", `"wasm" or "process"; default: by the file's content`)
	fs.StringVar(&c.config, "config", "", "the plugin's config, as JSON")
	fs.StringVar(&c.sha, "sha256", "", "the file's expected hex SHA-256")
	fs.DurationVar(&c.deadline, "deadline", 0, "the deadline of each delivery (default: the runtime's, 1s wasm, 5s process)")
}

func (c *common) options(name string) (plugintest.Options, error) {
	o := plugintest.Options{Name: name, Kind: plugintest.Kind(c.kind), SHA256: c.sha, Deadline: c.deadline}
	switch o.Kind {
	case "", plugintest.KindWasm, plugintest.KindProcess:
	default:
		return o, fmt.Errorf("-kind %q: want wasm or process", c.kind)
	}
	if c.config != "" {
		if !json.Valid([]byte(c.config)) {
			return o, fmt.Errorf("-config is not valid JSON: %s", c.config)
		}
		o.Config = json.RawMessage(c.config)
	}
	return o, nil
}

func runCmd(cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("heksher-plugin "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	var c common
	c.register(fs)
	name := fs.String("name", "", "the plugin's name (default: the file's base name)")
	var sets, ctxs multi
	fs.Var(&sets, "set", "a setting value: name=VALUE or name[f=v,...]=VALUE (VALUE is JSON, or else a string); repeatable")
	fs.Var(&ctxs, "context", "a context default: feature=value; repeatable")
	settingsFile := fs.String("settings", "", "a YAML or JSON file of settings and their rules")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(stderr, "heksher-plugin %s: no plugin file given\n", cmd)
		return exitUsage
	}
	path, events := fs.Arg(0), fs.Args()[1:]
	opts, err := c.options(*name)
	if err != nil {
		fmt.Fprintf(stderr, "heksher-plugin %s: %v\n", cmd, err)
		return exitUsage
	}
	defaults := map[string]string{}
	for _, s := range ctxs {
		f, v, ok := strings.Cut(s, "=")
		if !ok || f == "" {
			fmt.Fprintf(stderr, "heksher-plugin %s: -context %q: want feature=value\n", cmd, s)
			return exitUsage
		}
		defaults[f] = v
	}
	settings := plugintest.NewSettings(defaults)
	if *settingsFile != "" {
		if err := loadSettingsFile(*settingsFile, settings); err != nil {
			fmt.Fprintf(stderr, "heksher-plugin %s: %v\n", cmd, err)
			return exitUsage
		}
	}
	for _, s := range sets {
		n, rule, err := parseValue(s)
		if err != nil {
			fmt.Fprintf(stderr, "heksher-plugin %s: -set: %v\n", cmd, err)
			return exitUsage
		}
		addRule(settings, n, rule)
	}
	evs := make([]func(*plugintest.Plugin, context.Context) error, 0, len(events))
	for _, e := range events {
		f, err := parseEvent(e)
		if err != nil {
			fmt.Fprintf(stderr, "heksher-plugin %s: event %q: %v\n", cmd, e, err)
			return exitUsage
		}
		evs = append(evs, f)
	}
	opts.Settings = settings

	ctx := context.Background()
	p, err := plugintest.Open(ctx, path, opts)
	if err != nil {
		fmt.Fprintf(stdout, "load %s: FAILED: %v\n", path, err)
		return exitFailed
	}
	defer func() { _ = p.Close(ctx) }()
	m := p.Manifest()
	fmt.Fprintf(stdout, "load %s: ok: %s plugin %q, subscribed to %v\n", path, p.Kind(), p.Name(), m.Subscriptions.Kinds())
	for _, d := range m.Declarations {
		fmt.Fprintf(stdout, "  declares %s (%s, by %v, default %s)\n", d.Name, d.Type, d.ConfigurableFeatures, d.Default)
	}
	report(stdout, p)
	code := exitOK
	for i, f := range evs {
		err := f(p, ctx)
		switch {
		case errors.Is(err, plugintest.ErrNotSubscribed):
			fmt.Fprintf(stdout, "event %s: not delivered: not subscribed\n", events[i])
		case err != nil:
			fmt.Fprintf(stdout, "event %s: FAILED: %v\n", events[i], err)
			code = exitFailed
		default:
			fmt.Fprintf(stdout, "event %s: ok\n", events[i])
		}
		report(stdout, p)
	}
	return code
}

// report prints what p logged and looked up since the last report.
func report(w io.Writer, p *plugintest.Plugin) {
	for _, l := range p.Logs() {
		fmt.Fprintf(w, "  log %s\n", l)
	}
	for _, l := range p.Lookups() {
		fmt.Fprintf(w, "  lookup %s%s: ", l.Setting, features(l.Features))
		if l.Err != nil {
			fmt.Fprintf(w, "error: %v\n", l.Err)
			continue
		}
		fmt.Fprintf(w, "%s (%s", l.Value.JSON, l.Value.Source)
		if l.Value.Source == pluginapi.SourceRule && len(l.Value.Conditions) > 0 {
			fmt.Fprintf(w, " %s", conditions(l.Value.Conditions))
		}
		fmt.Fprintln(w, ")")
		for _, r := range l.Rejected {
			fmt.Fprintf(w, "    refused %s: %s\n", r.Value, r.Reason)
		}
	}
	p.Reset()
}

func features(fs []pluginapi.Feature) string {
	if len(fs) == 0 {
		return ""
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Name + "=" + f.Value
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func conditions(cs []event.Condition) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Feature + "=" + c.Value
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// parseValue parses name=VALUE or name[f=v,…]=VALUE into a rule.
func parseValue(s string) (string, event.Rule, error) {
	lhs, val, ok := strings.Cut(s, "=")
	var conds []event.Condition
	if i := strings.IndexByte(s, '['); i >= 0 && (!ok || i < len(lhs)) {
		j := strings.Index(s, "]=")
		if j < i {
			return "", event.Rule{}, fmt.Errorf("%q: want name[feature=value,...]=VALUE", s)
		}
		lhs, val = s[:i], s[j+2:]
		for _, c := range strings.Split(s[i+1:j], ",") {
			f, v, ok := strings.Cut(c, "=")
			if !ok || f == "" {
				return "", event.Rule{}, fmt.Errorf("%q: condition %q: want feature=value", s, c)
			}
			conds = append(conds, event.Condition{Feature: f, Value: v})
		}
	} else if !ok {
		return "", event.Rule{}, fmt.Errorf("%q: want name=VALUE", s)
	}
	if lhs == "" {
		return "", event.Rule{}, fmt.Errorf("%q: no setting name", s)
	}
	return lhs, event.Rule{Conditions: conds, Value: jsonValue(val)}, nil
}

// jsonValue is s when it is JSON, else s as a JSON string.
func jsonValue(s string) json.RawMessage {
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}

// addRule appends rule to the rules of the setting name; the rules of
// -set flags come after those of the settings file.
func addRule(s *plugintest.Settings, name string, rule event.Rule) {
	var rules []event.Rule
	if st, ok := s.Get(name); ok {
		rules = st.Rules
	}
	s.SetRules(name, append(slices.Clone(rules), rule)...)
}

// settingsFile is the -settings file: setting name to its rules.
type settingsFile map[string]struct {
	Default  any      `yaml:"default"`
	Features []string `yaml:"features"`
	Rules    []struct {
		When  map[string]string `yaml:"when"`
		Value any               `yaml:"value"`
	} `yaml:"rules"`
}

func loadSettingsFile(path string, s *plugintest.Settings) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	var f settingsFile
	if _, err := yamlstrict.Decode(path, b, &f, yamlstrict.Options{}); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	for name, spec := range f {
		st := plugintest.Setting{Name: name, ConfigurableFeatures: spec.Features}
		if spec.Default != nil {
			b, err := json.Marshal(spec.Default)
			if err != nil {
				return fmt.Errorf("settings: %s: default: %w", name, err)
			}
			st.Default = b
		}
		for i, r := range spec.Rules {
			b, err := json.Marshal(r.Value)
			if err != nil {
				return fmt.Errorf("settings: %s: rules[%d]: %w", name, i, err)
			}
			rule := event.Rule{ID: int64(i + 1), Value: b}
			keys := make([]string, 0, len(r.When))
			for k := range r.When {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				rule.Conditions = append(rule.Conditions, event.Condition{Feature: k, Value: r.When[k]})
			}
			st.Rules = append(st.Rules, rule)
		}
		s.Set(st)
	}
	return nil
}

// parseEvent turns an event word into the call that sends it.
func parseEvent(s string) (func(*plugintest.Plugin, context.Context) error, error) {
	kind, arg, hasArg := strings.Cut(s, ":")
	switch kind {
	case "declared":
		name, outcome, _ := strings.Cut(arg, ":")
		if name == "" {
			return nil, errors.New("want declared:NAME[:OUTCOME]")
		}
		if outcome == "" {
			outcome = "created"
		}
		return func(p *plugintest.Plugin, ctx context.Context) error { return p.SendDeclared(ctx, name, outcome) }, nil
	case "update-ok", "update_ok":
		var changed []string
		if arg != "" {
			changed = strings.Split(arg, ",")
		}
		return func(p *plugintest.Plugin, ctx context.Context) error { return p.SendUpdateOK(ctx, changed...) }, nil
	case "update-error", "update_error":
		msg := arg
		if msg == "" {
			msg = "connection refused"
		}
		n := 0
		return func(p *plugintest.Plugin, ctx context.Context) error {
			n++
			return p.SendUpdateError(ctx, errors.New(msg), n)
		}, nil
	case "changed", "setting-changed", "setting_changed", "initial":
		if !hasArg || arg == "" {
			return nil, fmt.Errorf("want %s:NAME[=VALUE]", kind)
		}
		initial := kind == "initial"
		if !strings.ContainsAny(arg, "=[") {
			name := arg
			return func(p *plugintest.Plugin, ctx context.Context) error {
				st, _ := p.Settings().Get(name)
				// Old rules: none, retrieved (a real change) unless initial.
				return p.Send(ctx, &event.SettingChanged{Header: event.Header{Time: time.Now()}, Setting: name,
					Old: event.RuleSet{Retrieved: !initial}, New: event.RuleSet{Retrieved: true, Rules: st.Rules, Default: st.Default}})
			}, nil
		}
		name, rule, err := parseValue(arg)
		if err != nil {
			return nil, err
		}
		if initial {
			return func(p *plugintest.Plugin, ctx context.Context) error {
				return p.SendInitialSettingChanged(ctx, name, rule)
			}, nil
		}
		return func(p *plugintest.Plugin, ctx context.Context) error { return p.SendSettingChanged(ctx, name, rule) }, nil
	case "closing":
		reason := event.ClosingShutdown
		switch arg {
		case "", "shutdown":
		case "replaced":
			reason = event.ClosingReplaced
		case "removed":
			reason = event.ClosingRemoved
		default:
			return nil, fmt.Errorf("unknown closing reason %q (want shutdown, replaced or removed)", arg)
		}
		return func(p *plugintest.Plugin, ctx context.Context) error { return p.SendClosingReason(ctx, reason) }, nil
	}
	return nil, fmt.Errorf("unknown event %q (want declared, update-ok, update-error, changed, initial or closing)", kind)
}

func validateCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("heksher-plugin validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	var c common
	c.register(fs)
	start := fs.Bool("start", false, "also start the plugin and initialise it with -config, and print what it declares (without it nothing of the plugin runs: a wasm module is compiled and validated against the ABI, a process plugin checked for its executable bit)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "heksher-plugin validate: want exactly one plugin file")
		return exitUsage
	}
	path := fs.Arg(0)
	opts, err := c.options("")
	if err != nil {
		fmt.Fprintf(stderr, "heksher-plugin validate: %v\n", err)
		return exitUsage
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stdout, "%s: INVALID: %s\n", path, fmt.Sprintf(format, a...))
		return exitFailed
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fail("%v", err)
	}
	if !fi.Mode().IsRegular() {
		return fail("not a regular file (%s)", fi.Mode().Type())
	}
	if c.sha != "" {
		sum, err := fileSHA256(path)
		if err != nil {
			return fail("%v", err)
		}
		if !strings.EqualFold(sum, c.sha) {
			return fail("SHA-256 is %s, want %s", sum, c.sha)
		}
	}
	kind := opts.Kind
	if kind == "" {
		if kind, err = plugintest.DetectKind(path); err != nil {
			return fail("%v", err)
		}
	}
	if kind == plugintest.KindProcess {
		if fi.Mode().Perm()&0o111 == 0 {
			return fail("a process plugin must be executable (chmod +x), and this file is not wasm either")
		}
		if !*start {
			fmt.Fprintf(stdout, "%s: ok: process plugin (executable%s; not started: add -start)\n", path, shaNote(c.sha))
			return exitOK
		}
	}
	opts.Kind = kind
	ctx := context.Background()
	if kind == plugintest.KindWasm && !*start {
		return checkWasm(ctx, path, c.sha, stdout)
	}
	p, err := plugintest.Open(ctx, path, opts)
	if err != nil {
		if errors.Is(err, wasm.ErrInvalidModule) {
			return fail("%v", err)
		}
		return fail("it does not initialise: %v", err)
	}
	defer func() { _ = p.Close(ctx) }()
	m := p.Manifest()
	what := "process plugin, started and initialised"
	if kind == plugintest.KindWasm {
		what = "wasm module, valid against ABI v1, initialised"
	}
	fmt.Fprintf(stdout, "%s: ok: %s%s; subscribed to %v; declares %d setting(s)\n", path, what, shaNote(c.sha), m.Subscriptions.Kinds(), len(m.Declarations))
	return exitOK
}

// checkWasm validates the module at path as heksher-host -check does:
// compiled under the daemon's default memory limit and checked against ABI
// v1, never instantiated, so none of its code runs. Each problem is a line.
func checkWasm(ctx context.Context, path, sha string, stdout io.Writer) int {
	rt, err := wasm.NewRuntime(ctx, wasm.RuntimeConfig{})
	if err != nil {
		fmt.Fprintf(stdout, "%s: INVALID: %v\n", path, err)
		return exitFailed
	}
	defer func() { _ = rt.Close(ctx) }()
	warnings, err := rt.Check(ctx, wasm.PluginConfig{Name: path, Path: path, SHA256: sha,
		MemoryLimitPages: uint32(config.DefaultWasmMemoryLimit / (64 << 10))})
	for _, w := range warnings {
		fmt.Fprintf(stdout, "%s: warning: %s\n", path, w)
	}
	if ve, ok := errors.AsType[*wasm.ValidationError](err); ok && len(ve.Problems) > 0 {
		for _, p := range ve.Problems {
			fmt.Fprintf(stdout, "%s: INVALID: %s\n", path, p)
		}
		return exitFailed
	}
	if err != nil {
		fmt.Fprintf(stdout, "%s: INVALID: %v\n", path, err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "%s: ok: wasm module, valid against ABI v1%s (not initialised: add -start to run its init and see its manifest)\n", path, shaNote(sha))
	return exitOK
}

func shaNote(sha string) string {
	if sha == "" {
		return ""
	}
	return ", checksum matches"
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
