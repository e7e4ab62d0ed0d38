package plugintest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/htype"
	"github.com/heksher-go/heksher/pluginapi"
)

// Setting is a setting the fake [Settings] knows, with its rules.
type Setting struct {
	// Name is the setting's name.
	Name string
	// Rules are the setting's rules, in the server's order. A rule matches
	// a lookup when each of its conditions names a feature the lookup gives
	// that value.
	Rules []event.Rule
	// Default is the server default as wire JSON; nil means none, so a
	// lookup no rule matches gives the plugin's declared default.
	Default json.RawMessage
	// ConfigurableFeatures are the features the setting's rules may use, in
	// resolution order; nil takes them from the plugin's declaration.
	ConfigurableFeatures []string
	// Origin is where the host got the setting's rules, as its lookups
	// answer it; the zero value (OriginUnknown) means the Settings' origin
	// (see [Settings.SetOrigin]).
	Origin pluginapi.Origin
}

// Lookup is one lookup a plugin made through the fake [Settings].
type Lookup struct {
	// Setting and Features are what the plugin asked for (Features as the
	// plugin gave them, before context defaults).
	Setting  string
	Features []pluginapi.Feature
	// Value is the answer; zero when Err is set.
	Value pluginapi.Value
	// Err is the error the lookup returned: nil, or one matching
	// [pluginapi.ErrNotFound], [pluginapi.ErrNotDeclared] or
	// [pluginapi.ErrBadContext].
	Err error
	// Rejected are the rules (and the server default, Default true) that
	// would have answered but whose value is not of the declared type: the
	// host's client refuses those, and so does the fake.
	Rejected []event.RejectedValue
}

// Settings is an in-memory [pluginapi.Settings]: it resolves lookups against
// the [Setting] values it holds the way a Heksher server's rules resolve,
// and records every lookup. The zero value is not usable; use [NewSettings].
// It is safe for concurrent use.
//
// Resolution: a setting the plugin declared but Settings does not hold
// resolves to the declared default ([pluginapi.SourceLocalDefault]); a held
// setting is resolved by its rules. Among the rules whose every condition
// matches, the winner is the reference client's: the rule whose last
// conditioned feature comes latest in the setting's configurable features,
// then the one with a condition on the earliest feature (then the next, and
// so on); among equals, the first in order.
// No match gives the server default, else the declared default.
//
// Origin: a held setting's answer says its rules came from the service
// ([pluginapi.OriginService]), or from what [Settings.SetOrigin] or the
// Setting's Origin says, e.g. [pluginapi.OriginSnapshot] to test how a
// plugin takes a snapshot's value at init while the service is down; a
// declared setting it does not hold answers its declared default with
// [pluginapi.OriginDefaults], as the host does for a setting it has no
// rules for. Once the
// manifest is known, a rule or server default whose value is not of the
// declared type is passed over, as the host's client refuses it, and listed
// in the [Lookup]'s Rejected. A name
// neither held nor declared is [pluginapi.ErrNotFound]; a held setting the
// plugin did not declare is [pluginapi.ErrNotDeclared] once the plugin's
// manifest is known (during its init every held setting may be read, by any
// feature unless its ConfigurableFeatures are set); a feature the setting
// is not configurable by is [pluginapi.ErrBadContext], and so is a missing
// one when the reference client would say so: with m the first configurable
// feature that has no value (given or defaulted), when m is the first one
// or some rule's conditions on the features before m all match; otherwise
// a lookup that misses a feature matches no rule.
type Settings struct {
	mu       sync.Mutex
	settings map[string]Setting
	defaults map[string]string
	declared map[string]pluginapi.Declaration // nil until the manifest is known
	atInit   map[string]pluginapi.Declaration // declared during the init, before the manifest
	types    map[string]*htype.Type           // the declared types that parse
	origin   pluginapi.Origin                 // of the held settings' rules
	lookups  []Lookup
}

// NewSettings returns a Settings holding settings, with contextDefaults as
// the host's context defaults (the features a lookup does not give).
func NewSettings(contextDefaults map[string]string, settings ...Setting) *Settings {
	s := &Settings{settings: make(map[string]Setting), defaults: make(map[string]string), origin: pluginapi.OriginService}
	for k, v := range contextDefaults {
		s.defaults[k] = v
	}
	for _, st := range settings {
		s.settings[st.Name] = st
	}
	return s
}

// Set adds or replaces a setting, e.g. to change its rules between events.
func (s *Settings) Set(st Setting) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settings[st.Name] = st
}

// DeclareAtInit implements [pluginapi.InitDeclarer]: a setting a wasm
// plugin declares during its init is then read by the same init as the
// host reads it, its declared default when Settings does not hold it.
func (s *Settings) DeclareAtInit(_ context.Context, _ string, d pluginapi.Declaration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.atInit == nil {
		s.atInit = make(map[string]pluginapi.Declaration)
	}
	s.atInit[d.Name] = d
	return nil
}

// SetOrigin sets where the held settings' rules came from, as lookups
// answer it (a Setting's own Origin comes first): [pluginapi.OriginService]
// by default, [pluginapi.OriginSnapshot] for a host serving its snapshot
// while the service is down, [pluginapi.OriginDefaults] for a host that has
// received no rules. Call it before [New] or [Open] to set what the
// plugin's init reads.
func (s *Settings) SetOrigin(o pluginapi.Origin) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.origin = o
}

// Get returns the setting named name, if held.
func (s *Settings) Get(name string) (Setting, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.settings[name]
	return st, ok
}

// SetRules replaces the rules of the setting named name (adding it with no
// server default if it is not held) and returns the rule set it had before
// and the one it has now, as a [event.SettingChanged] carries them.
func (s *Settings) SetRules(name string, rules ...event.Rule) (old, now event.RuleSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.settings[name]
	old = event.RuleSet{Retrieved: ok, Rules: st.Rules, Default: st.Default}
	st.Name = name
	st.Rules = slices.Clone(rules)
	s.settings[name] = st
	return old, event.RuleSet{Retrieved: true, Rules: st.Rules, Default: st.Default}
}

// Declare makes the lookups of undeclared settings fail with
// [pluginapi.ErrNotDeclared] from now on, with decls the plugin's declared
// settings. [Open] calls it with the plugin's manifest.
func (s *Settings) Declare(decls []pluginapi.Declaration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.declared = make(map[string]pluginapi.Declaration, len(decls))
	s.types = make(map[string]*htype.Type, len(decls))
	for _, d := range decls {
		s.declared[d.Name] = d
		if t, err := htype.Parse(d.Type); err == nil {
			s.types[d.Name] = t
		}
	}
}

// Lookups returns the lookups recorded so far, oldest first.
func (s *Settings) Lookups() []Lookup {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lookups)
}

// Reset forgets the recorded lookups.
func (s *Settings) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups = nil
}

// Lookup implements [pluginapi.Settings].
func (s *Settings) Lookup(_ context.Context, _, setting string, features []pluginapi.Feature) (pluginapi.Value, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rejected []event.RejectedValue
	v, err := s.resolve(setting, features, &rejected)
	s.lookups = append(s.lookups, Lookup{Setting: setting, Features: slices.Clone(features), Value: v, Err: err, Rejected: rejected})
	return v, err
}

func (s *Settings) resolve(name string, features []pluginapi.Feature, rejected *[]event.RejectedValue) (pluginapi.Value, error) {
	st, held := s.settings[name]
	decl, declared := s.declared[name]
	if s.declared == nil && !held {
		decl, declared = s.atInit[name] // only its own declarations, before the manifest
	}
	switch {
	case !held && !declared:
		return pluginapi.Value{}, fmt.Errorf("%w: %q", pluginapi.ErrNotFound, name)
	case s.declared != nil && !declared:
		return pluginapi.Value{}, fmt.Errorf("%w: %q", pluginapi.ErrNotDeclared, name)
	}
	configurable := st.ConfigurableFeatures
	if configurable == nil {
		configurable = decl.ConfigurableFeatures
	}
	// During the plugin's init its declarations are not known yet: a
	// setting held without ConfigurableFeatures then takes any feature.
	anyFeature := configurable == nil && s.declared == nil
	ctx := make(map[string]string, len(features)+len(s.defaults))
	for k, v := range s.defaults {
		if anyFeature || slices.Contains(configurable, k) {
			ctx[k] = v
		}
	}
	for _, f := range features {
		if !anyFeature && !slices.Contains(configurable, f.Name) {
			return pluginapi.Value{}, fmt.Errorf("%w: %q is not configurable by %q (it is by %v)", pluginapi.ErrBadContext, name, f.Name, configurable)
		}
		ctx[f.Name] = f.Value
	}
	rules := st.Rules
	if !anyFeature {
		switch err := missingFeature(name, st.Rules, ctx, configurable); {
		case errors.Is(err, errNoRule):
			rules = nil
		case err != nil:
			return pluginapi.Value{}, err
		}
	}
	typ := s.types[name]
	fits := func(v json.RawMessage) error {
		if typ == nil {
			return nil
		}
		return typ.Validate(v)
	}
	best, bestRank := -1, -1
	for i, r := range rules {
		rank, ok := ruleRank(r, ctx, configurable)
		if !ok || rank <= bestRank {
			continue
		}
		if err := fits(r.Value); err != nil {
			*rejected = append(*rejected, event.RejectedValue{Setting: name, RuleID: r.ID, Conditions: r.Conditions, Value: r.Value, Reason: err.Error()})
			continue
		}
		best, bestRank = i, rank
	}
	serverDefault := st.Default
	if serverDefault != nil && best < 0 {
		if err := fits(serverDefault); err != nil {
			*rejected = append(*rejected, event.RejectedValue{Setting: name, Default: true, Value: serverDefault, Reason: err.Error()})
			serverDefault = nil
		}
	}
	origin := st.Origin
	if origin == pluginapi.OriginUnknown {
		origin = s.origin
	}
	switch {
	case best >= 0:
		r := rules[best]
		return pluginapi.Value{JSON: r.Value, Source: pluginapi.SourceRule, Origin: origin, RuleID: r.ID, Conditions: r.Conditions}, nil
	case serverDefault != nil:
		return pluginapi.Value{JSON: serverDefault, Source: pluginapi.SourceServerDefault, Origin: origin}, nil
	case declared:
		if !held {
			origin = pluginapi.OriginDefaults // no rules for it: the host answers the same
		}
		return pluginapi.Value{JSON: decl.Default, Source: pluginapi.SourceLocalDefault, Origin: origin}, nil
	}
	return pluginapi.Value{}, fmt.Errorf("%w: %q has no rule for this context and no default", pluginapi.ErrNotFound, name)
}

// missingFeature applies the reference client's rule for a configurable
// feature without a value (internal/resolve): with m the first such feature,
// the lookup fails when m is the first feature or some rule's conditions on
// the features before m all match ctx (its traversal reaches m); otherwise no
// rule matches and a default answers.
func missingFeature(name string, rules []event.Rule, ctx map[string]string, configurable []string) error {
	m := slices.IndexFunc(configurable, func(f string) bool { _, ok := ctx[f]; return !ok })
	if m < 0 {
		return nil
	}
	reaches := m == 0 || slices.ContainsFunc(rules, func(r event.Rule) bool {
		for _, c := range r.Conditions {
			if i := slices.Index(configurable, c.Feature); i >= 0 && i < m && ctx[c.Feature] != c.Value {
				return false
			}
		}
		return true
	})
	if reaches {
		return fmt.Errorf("%w: %q needs a value for context feature %q (configurable by %v)", pluginapi.ErrBadContext, name, configurable[m], configurable)
	}
	return errNoRule
}

// errNoRule is missingFeature's answer when no rule can match.
var errNoRule = errors.New("no rule can match")

// ruleRank reports whether r matches ctx and, if so, its rank under the
// reference client's order (internal/resolve): first the index of the last
// configurable feature r has a condition on, then, feature by feature from
// the first, whether it has one.
func ruleRank(r event.Rule, ctx map[string]string, configurable []string) (int, bool) {
	bits, last := 0, -1
	for _, c := range r.Conditions {
		if v, ok := ctx[c.Feature]; !ok || v != c.Value {
			return 0, false
		}
		if i := slices.Index(configurable, c.Feature); i >= 0 && i < 30 {
			bits |= 1 << (29 - i)
			last = max(last, i)
		}
	}
	return (last+1)<<30 | bits, true
}
