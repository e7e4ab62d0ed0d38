package heksher

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/resolve"
)

// MatchAny, as the value of a [StubRule] condition, is an explicit wildcard:
// the condition is the same as no condition on that feature. It is the same
// string as [TrackAll].
const MatchAny = "*"

// StubClient is the test double of [Client] (B10–B20): it never talks to a
// server. Made main with [StubClient.SetAsMain], it lets tests give settings
// values or rule sets directly with [SetValue], [SetRules], [PatchValue] and
// [PatchRules]. Its defaults behave as a client's ([StubClient.SetDefaults]),
// without the warnings; Reload, Close and Ping only count calls.
//
// A StubClient is safe for concurrent use.
type StubClient struct {
	log      *slog.Logger
	defaults contextDefaults
	closed   atomic.Bool
	reloads  atomic.Int64
	closes   atomic.Int64
	pings    atomic.Int64
	// isScoped: values are kept in scoped, seen only through Context.
	isScoped bool
	scoped   scopedState
}

// StubCalls counts the calls a [StubClient] received.
type StubCalls struct {
	Reload, Close, Ping int
}

// NewStubClient returns a stub client. It accepts the options of
// [NewClient] so that code building a client can build a stub instead; only
// [WithLogger] is used (default: [slog.Default]), the others are ignored.
func NewStubClient(opts ...Option) *StubClient {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	c := &StubClient{log: cfg.logger}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c
}

// SetAsMain makes c the main client, whatever held the slot (settings still
// waiting for a first client are dropped). It always succeeds; the previous
// main is not restored by Close. Tests that make a stub main should also
// call t.Cleanup(heksher.ResetMainForTesting).
//
// A scoped stub (see [NewScopedStub]) is never main: SetAsMain returns an
// error and changes nothing.
func (c *StubClient) SetAsMain(context.Context) error {
	if c.isScoped {
		return errScopedMain
	}
	installMain(c)
	return nil
}

// register ignores settings: a stub declares nothing.
func (c *StubClient) register(settingHandle) {}

// SetDefaults gives context features default values, exactly like
// [Client.SetDefaults] but without warnings about unknown features.
//
// # Errors
//
// A feature that already has a default gives [ErrDuplicateDefault], and
// nothing of that call is applied.
func (c *StubClient) SetDefaults(defaults map[string]Default) error {
	return c.defaults.set(c.log, nil, false, defaults)
}

// TrackContexts does nothing: a stub downloads no rules.
func (c *StubClient) TrackContexts(map[string][]string) error { return nil }

// Reload counts the call and returns nil.
func (c *StubClient) Reload(context.Context) error { c.reloads.Add(1); return nil }

// Ping counts the call and returns nil.
func (c *StubClient) Ping(context.Context) error { c.pings.Add(1); return nil }

// Close counts the call and marks c closed: a rule set it supplied no
// longer makes another client's patch warn about "multiple clients". Values
// it supplied stay in force. Close may be called any number of times.
func (c *StubClient) Close() error {
	c.closes.Add(1)
	c.closed.Store(true)
	return nil
}

// Calls returns how many times Reload, Close and Ping were called.
func (c *StubClient) Calls() StubCalls {
	return StubCalls{Reload: int(c.reloads.Load()), Close: int(c.closes.Load()), Ping: int(c.pings.Load())}
}

// The supplier side: namespace construction (defaults, then explicit
// values) without the real client's warnings.
func (c *StubClient) warnExplicit(context.Context, map[string]string) {}
func (c *StubClient) defaultValue(ctx context.Context, feature string) (string, bool) {
	return c.defaults.value(ctx, feature)
}
func (c *StubClient) isLive() bool         { return !c.closed.Load() }
func (c *StubClient) logger() *slog.Logger { return c.log }

// StubRule is a rule given to [SetRules]: Conditions maps features to the
// values they must equal ([MatchAny] for none), and Value is used as it is.
type StubRule[T any] struct {
	Conditions map[string]string
	Value      T
}

// SetValue gives s the single value v (one rule with no conditions), as
// supplied by c: reads of s then use c's defaults. With a stub made main
// (or never made main) the value is the setting's, for every read in the
// process; with a scoped stub ([NewScopedStub]) only reads with a context
// from c.Context see it. The value bypasses
// conversion, the on-coerce hook and validators, and the server default is
// untouched. SetValue applies at once; calling the returned restore puts
// back the rule set s had before (restores nest, in LIFO order):
//
//	t.Cleanup(heksher.SetValue(stub, cacheSize, 10))
func SetValue[T any](c *StubClient, s *Setting[T], v T) (restore func()) {
	restore, _ = SetRules(c, s, StubRule[T]{Value: v})
	return restore
}

// SetRules replaces s's rule set with rules, as supplied by c (see
// [SetValue]). Rules are collated and resolved as server rules are; of two
// rules with the same conditions the later wins (logged at ERROR). Patching a
// rule set that another, still open, client supplied logs "setting received
// rule set from multiple clients" (WARN).
//
// # Errors
//
// A condition on a feature that is not configurable for s: a
// *[NotConfigurableError]; nothing is changed then.
func SetRules[T any](c *StubClient, s *Setting[T], rules ...StubRule[T]) (restore func(), err error) {
	conds := make([][]resolve.Condition, 0, len(rules))
	evRules := make([]event.Rule, 0, len(rules))
	values := make([]T, 0, len(rules))
	for _, r := range rules {
		var bad []string
		var rc []resolve.Condition
		var ec []Condition
		for _, f := range s.features { // feature order (a Go decision)
			if v, ok := r.Conditions[f]; ok && v != MatchAny {
				rc = append(rc, resolve.Condition{Feature: f, Value: v})
				ec = append(ec, Condition{Feature: f, Value: v})
			}
		}
		for f := range r.Conditions {
			if !s.hasFeature(f) {
				bad = append(bad, f)
			}
		}
		if len(bad) > 0 {
			slices.Sort(bad)
			return func() {}, &NotConfigurableError{Setting: s.name, Features: bad}
		}
		wireValue, _ := s.typ.ToWire(r.Value) // best effort: stub values need not have a wire form
		conds = append(conds, rc)
		evRules = append(evRules, event.Rule{Conditions: ec, Value: wireValue})
		values = append(values, r.Value)
	}
	table, conflicts, err := resolve.Build(s.features, conds)
	if err != nil {
		return func() {}, err
	}
	s.logConflicts(c.log, conflicts, evRules)
	if c.isScoped {
		return setScoped(c, s, &snapshot[T]{retrieved: true, from: c, table: table, values: values, rules: evRules}), nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	prev := s.state.Load()
	if prev != nil && prev.from != nil && prev.from != supplier(c) && prev.from.isLive() {
		c.log.Warn("setting received rule set from multiple clients", "setting", s.name)
	}
	next := &snapshot[T]{retrieved: true, from: c, table: table, values: values, rules: evRules}
	if prev != nil {
		next.hasDefault, next.serverDefault, next.defaultWire = prev.hasDefault, prev.serverDefault, prev.defaultWire
	}
	s.storeLocked(next)
	return func() { s.restoreRules(prev) }, nil
}

// restoreRules puts back the rule part of prev (nil: never retrieved),
// keeping the current server default.
func (s *Setting[T]) restoreRules(prev *snapshot[T]) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	next := &snapshot[T]{}
	if prev != nil {
		next.retrieved, next.from, next.table, next.values, next.rules = prev.retrieved, prev.from, prev.table, prev.values, prev.rules
	}
	if cur := s.state.Load(); cur != nil {
		next.hasDefault, next.serverDefault, next.defaultWire = cur.hasDefault, cur.serverDefault, cur.defaultWire
	}
	if !next.retrieved && !next.hasDefault {
		next = nil
	}
	s.storeLocked(next)
}

// TestingTB is the part of testing.TB that [PatchValue] and [PatchRules]
// use, so that this package need not import testing.
type TestingTB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// PatchValue is [SetValue] restored automatically when the test ends.
func PatchValue[T any](tb TestingTB, c *StubClient, s *Setting[T], v T) {
	tb.Helper()
	tb.Cleanup(SetValue(c, s, v))
}

// PatchRules is [SetRules] restored automatically when the test ends; an
// error fails the test.
func PatchRules[T any](tb TestingTB, c *StubClient, s *Setting[T], rules ...StubRule[T]) {
	tb.Helper()
	restore, err := SetRules(c, s, rules...)
	if err != nil {
		tb.Fatalf("heksher: PatchRules(%s): %v", s.name, err)
	}
	tb.Cleanup(restore)
}
