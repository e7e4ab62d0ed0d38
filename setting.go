package heksher

import (
	"encoding/json"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/resolve"
	"github.com/heksher-go/heksher/internal/wire"
)

// Setting is a named, typed value declared to Heksher and resolved locally
// against the rules the main client downloads. T is the Go type of
// its values; a setting whose type is known only at run time is a
// Setting[json.RawMessage] built with [ParseType].
//
// A Setting is safe for concurrent use: [Setting.Get] never locks and never
// allocates on the common path, while the client swaps in new rules. It must
// not be copied.
type Setting[T any] struct {
	name      string
	typ       Type[T]
	features  []string
	featHash  []uint64 // resolve.Hash of each feature name, for Features
	def       T
	defWire   json.RawMessage
	metadata  map[string]any
	alias     *string
	version   string
	major     int
	onCoerce  func(value T, raw json.RawMessage, coercions []string, rule *QueriedRule) (T, error)
	rejectCo  bool
	log       *slog.Logger // from WithSettingLogger; nil means the owner's or the main client's
	owner     *Client      // from WithClient; nil means the main client
	metaJSON  json.RawMessage
	vmu       sync.Mutex                     // serialises AddValidator
	validator atomic.Pointer[[]Validator[T]] // copy-on-write
	wmu       sync.Mutex                     // serialises writers of state
	state     atomic.Pointer[snapshot[T]]    // nil until rules or a server default arrive
	conflict  atomic.Pointer[ConflictError]  // the service's 409 to the last answered declaration
	// warnedNoClient is set once a read before any client was main was
	// logged (to slog.Default, once per setting).
	warnedNoClient atomic.Bool
	// scopedN counts the scoped stubs holding a value for the setting;
	// while it is not 0, the published snapshots carry the scoped flag
	// (see storeLocked). Only writers read it.
	scopedN atomic.Int32
}

// Validator checks or transforms a server value of a setting (B51). It
// receives the value (after conversion and the on-coerce hook, or the
// previous validator's output), the rule the value belongs to (nil for a
// server default) and the setting. Returning an error rejects the value: the
// rule is dropped, or the server default discarded. A panic fails the whole
// update.
//
// A validator must not modify value in place (slices and maps are shared).
type Validator[T any] func(value T, rule *QueriedRule, s *Setting[T]) (T, error)

// Condition is one exact-match condition of a rule: Feature = Value.
type Condition = event.Condition

// QueriedRule identifies the server rule a value came from, as given to an
// on-coerce hook or a [Validator]: its id and its conditions in the server's
// order.
type QueriedRule struct {
	ID         int64
	Conditions []Condition
}

// SettingOption configures [NewSetting]. Options never fail; NewSetting
// validates the result once.
type SettingOption func(*settingConfig)

type settingConfig struct {
	metadata        map[string]any
	alias           *string
	version         string
	onCoerce        any
	rejectCoercions bool
	logger          *slog.Logger
	client          *Client
}

// WithMetadata sets the setting's metadata, a JSON object (default: {}).
// The map is copied; its values must be JSON-encodable.
func WithMetadata(m map[string]any) SettingOption {
	m = maps.Clone(m)
	return func(c *settingConfig) { c.metadata = m }
}

// WithAlias declares another name of the same setting, used when a setting
// is renamed (default: none, sent as null).
func WithAlias(alias string) SettingOption {
	return func(c *settingConfig) { c.alias = &alias }
}

// WithVersion sets the declared version, "MAJOR.MINOR" with decimal numbers
// (default "1.0"). NewSetting rejects any other form.
func WithVersion(v string) SettingOption {
	return func(c *settingConfig) { c.version = v }
}

// WithOnCoerce sets the hook called when a server value was converted with
// losses (heksher-py's on_coerce): it receives the coerced value, the server's raw value,
// the coercion messages and the rule (nil for a server default), and returns
// the value to use, or an error to reject it. By default a coerced value is
// accepted as it is. T must be the setting's value type, or NewSetting fails.
func WithOnCoerce[T any](f func(value T, raw json.RawMessage, coercions []string, rule *QueriedRule) (T, error)) SettingOption {
	return func(c *settingConfig) { c.onCoerce = f; c.rejectCoercions = false }
}

// RejectCoercions makes every coercion a rejection: a server value that does
// not convert cleanly is treated like one that does not convert at all.
func RejectCoercions() SettingOption {
	return func(c *settingConfig) { c.rejectCoercions = true; c.onCoerce = nil }
}

// WithSettingLogger sets where the setting logs when it is read before any rules
// arrived ("the value of setting was never retrieved from service", INFO).
// By default that goes to the WithClient client's or the main client's
// logger, every time; before any client is main, to [slog.Default], once per
// setting.
func WithSettingLogger(l *slog.Logger) SettingOption {
	return func(c *settingConfig) { c.logger = l }
}

// WithClient registers the setting with c instead of the main client: c
// declares it and keeps it up to date, whether or not c is main, and even
// if c is already running (the setting is then declared in the background
// and tracked from the following update). Code that runs several clients in
// one process (a host, tests) uses it to stay independent of the main slot.
// Default: the main client.
func WithClient(c *Client) SettingOption {
	return func(cfg *settingConfig) { cfg.client = c }
}

var versionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

// NewSetting declares a setting: its name (sent to the server as is), its
// type, its configurable context features in resolution order (duplicates
// are dropped, keeping the first), and its local default, used until the
// server supplies rules or a default. The default never goes through
// validators or coercion.
//
// The setting registers at once with the current main client (B27–B28):
// a real client declares it in the background, a stub ignores it, and before
// any client it waits for the first one. NewSetting never blocks. A later
// setting with the same name replaces this one in the client's tracking;
// when the two differ (type, features, default, version, alias or
// metadata) a WARN says how, on the client's logger, or on [slog.Default]
// before any client is main. Identical settings of one name are legal.
//
// # Errors
//
// All match [ErrInvalidSetting]: an invalid type (see [Type.Err]), a default
// that is not a value of the type, a version that is not MAJOR.MINOR,
// metadata that is not JSON-encodable, an on-coerce hook for another value
// type, or more than 64 configurable features.
func NewSetting[T any](name string, typ Type[T], features []string, def T, opts ...SettingOption) (*Setting[T], error) {
	cfg := settingConfig{version: "1.0"}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := newSetting(name, typ, features, def, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.client != nil {
		s.owner = cfg.client
		cfg.client.register(s)
	} else {
		registerSetting(s)
	}
	return s, nil
}

func newSetting[T any](name string, typ Type[T], features []string, def T, cfg settingConfig) (*Setting[T], error) {
	if err := typ.Err(); err != nil {
		return nil, wrapOp("setting "+name, err, "")
	}
	s := &Setting[T]{name: name, typ: typ, def: def, alias: cfg.alias, version: cfg.version, rejectCo: cfg.rejectCoercions, log: cfg.logger}
	seen := make(map[string]struct{}, len(features))
	for _, f := range features {
		if _, dup := seen[f]; !dup {
			seen[f] = struct{}{}
			s.features = append(s.features, f)
		}
	}
	if len(s.features) > resolve.MaxFeatures {
		return nil, invalid("setting %s: %d configurable features, at most %d", name, len(s.features), resolve.MaxFeatures)
	}
	if s.features == nil {
		s.features = []string{}
	}
	for _, f := range s.features {
		s.featHash = append(s.featHash, resolve.Hash(f))
	}
	if !versionPattern.MatchString(cfg.version) {
		return nil, invalid("setting %s: version %q is not MAJOR.MINOR", name, cfg.version)
	}
	major, err := strconv.Atoi(cfg.version[:strings.IndexByte(cfg.version, '.')])
	if err != nil {
		return nil, invalid("setting %s: version %q: %v", name, cfg.version, err)
	}
	s.major = major
	if s.defWire, err = typ.ToWire(def); err != nil {
		return nil, wrapOp("setting "+name+": default", err, "")
	}
	s.metadata = cfg.metadata
	if s.metadata == nil {
		s.metadata = map[string]any{}
	}
	if s.metaJSON, err = wire.Marshal(s.metadata); err != nil {
		return nil, invalid("setting %s: metadata is not JSON-encodable: %v", name, err)
	}
	// Re-decode into a fresh map, so that the declared metadata is plain
	// JSON data that nobody else (the option, another setting) holds.
	s.metadata = nil
	if err := json.Unmarshal(s.metaJSON, &s.metadata); err != nil {
		return nil, invalid("setting %s: metadata: %v", name, err)
	}
	if cfg.onCoerce != nil {
		f, ok := cfg.onCoerce.(func(T, json.RawMessage, []string, *QueriedRule) (T, error))
		if !ok {
			var zero T
			return nil, invalid("setting %s: on-coerce hook %T does not take the setting's value type %T", name, cfg.onCoerce, zero)
		}
		s.onCoerce = f
	}
	return s, nil
}

// Name returns the setting's name.
func (s *Setting[T]) Name() string { return s.name }

// Type returns the setting's type.
func (s *Setting[T]) Type() Type[T] { return s.typ }

// TypeString returns the declared type string (B21–B25).
func (s *Setting[T]) TypeString() string { return s.typ.str }

// Features returns the configurable features in resolution order (a copy).
func (s *Setting[T]) Features() []string { return slices.Clone(s.features) }

// Version returns the declared version string.
func (s *Setting[T]) Version() string { return s.version }

// Default returns the local default.
func (s *Setting[T]) Default() T { return s.def }

// Alias returns the declared alias and whether there is one.
func (s *Setting[T]) Alias() (string, bool) {
	if s.alias == nil {
		return "", false
	}
	return *s.alias, true
}

// Metadata returns the metadata as JSON.
func (s *Setting[T]) Metadata() json.RawMessage { return slices.Clone(s.metaJSON) }

// AddValidator appends v to the validators; they run in the order added, on
// every server value of the following updates (never on the local default
// or on stub values). Safe to call at any time.
func (s *Setting[T]) AddValidator(v Validator[T]) {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	var next []Validator[T]
	if cur := s.validator.Load(); cur != nil {
		next = slices.Clone(*cur)
	}
	next = append(next, v)
	s.validator.Store(&next)
}

// DeclarationConflict returns the conflict the service reported when the
// setting was last declared (a [*ConflictError], matching
// [ErrDeclarationConflict]), or nil: the setting was declared without one,
// or not yet. A setting in conflict is kept up to date with the service's
// declaration, so reads may fall back to the local default; this says why.
func (s *Setting[T]) DeclarationConflict() error {
	if ce := s.conflict.Load(); ce != nil {
		return ce
	}
	return nil
}

func (s *Setting[T]) setConflict(ce *ConflictError) { s.conflict.Store(ce) }

// declaration is the body POSTed to declare the setting (B1).
func (s *Setting[T]) declaration() wire.DeclareRequest {
	return wire.DeclareRequest{
		Name:                 s.name,
		ConfigurableFeatures: slices.Clone(s.features),
		Type:                 s.typ.str,
		Metadata:             maps.Clone(s.metadata),
		Alias:                s.alias,
		DefaultValue:         slices.Clone(s.defWire),
		Version:              s.version,
	}
}

func (s *Setting[T]) settingName() string { return s.name }
func (s *Setting[T]) versionMajor() int   { return s.major }

// hasFeature reports whether f is configurable.
func (s *Setting[T]) hasFeature(f string) bool {
	return slices.Contains(s.features, f)
}
