package heksher

import (
	"context"
	"log/slog"
	"slices"

	"github.com/heksher-go/heksher/internal/resolve"
)

// inlineFeatures is how many configurable features Get resolves without
// allocating (more still work, with one allocation per call).
const inlineFeatures = 8

// Get returns the setting's value for a request (B64): explicit maps
// configurable features to their values; the supplying client's defaults
// fill the others (static, then from ctx). The best matching rule wins
// (internal/resolve); with no match, the server default if one was accepted, else
// the local default. Before any rules arrived it returns the server default
// or the local default and logs "the value of setting was never retrieved
// from service" (INFO).
//
// Once rules arrived, Get never locks and, for up to 8 configurable
// features, never allocates (before that, it looks up the main client's
// logger for its INFO line). The value is shared: treat slices and maps as read-only. For many reads
// per request, [NewFeatures] and [Setting.GetFor] are faster.
//
// # Errors
//
//   - an explicit feature that is not configurable for the setting: a
//     *[NotConfigurableError] (matches [ErrNotConfigurable]);
//   - resolution reached a feature with neither an explicit value nor a
//     default: a *[MissingFeatureError] (matches [ErrMissingContextFeature]).
func (s *Setting[T]) Get(ctx context.Context, explicit map[string]string) (T, error) {
	r, err := s.lookupMap(ctx, explicit)
	return r.Value, err
}

// Lookup is [Setting.Get] that also says where the value came from: the
// matching rule (its id and conditions), the server default or the local
// default; and, if the service answered the setting's declaration with a
// conflict, why (Resolution.Conflict).
func (s *Setting[T]) Lookup(ctx context.Context, explicit map[string]string) (Resolution[T], error) {
	r, err := s.lookupMap(ctx, explicit)
	s.addConflict(&r)
	return r, err
}

// addConflict fills r.Conflict (no allocation: a pointer in an interface).
func (s *Setting[T]) addConflict(r *Resolution[T]) {
	if ce := s.conflict.Load(); ce != nil {
		r.Conflict = ce
	}
}

func (s *Setting[T]) lookupMap(ctx context.Context, explicit map[string]string) (Resolution[T], error) {
	n := len(s.features)
	var vbuf [inlineFeatures]string
	var hbuf [inlineFeatures]uint64
	values, hashes := vbuf[:], hbuf[:]
	if n > inlineFeatures {
		values, hashes = make([]string, n), make([]uint64, n)
	}
	values, hashes = values[:n], hashes[:n]
	// Step 1 (B3): every explicit key must be configurable. Counting
	// the keys found among the features checks that without ranging over
	// the map, which costs more than the lookups.
	var present uint64
	found := 0
	for d, f := range s.features {
		if v, ok := explicit[f]; ok {
			values[d] = v
			present |= 1 << d
			found++
		}
	}
	if found != len(explicit) {
		return Resolution[T]{Value: s.def, Source: SourceLocalDefault}, s.notConfigurable(explicit)
	}
	sn := s.current(ctx)
	if sn == nil || !sn.retrieved {
		s.logNeverRetrieved(ctx)
		return s.fallback(sn), nil
	}
	sn.from.warnExplicit(ctx, explicit)
	for d, f := range s.features {
		if present&(1<<d) == 0 {
			v, ok := sn.from.defaultValue(ctx, f)
			if !ok {
				continue
			}
			values[d] = v
			present |= 1 << d
		}
		hashes[d] = resolve.Hash(values[d])
	}
	rule, missing := sn.table.Lookup(values, hashes, present)
	return s.resolution(sn, rule, missing)
}

// resolution turns a table lookup into a Resolution: the rule, or the fallback.
func (s *Setting[T]) resolution(sn *snapshot[T], rule, missing int) (Resolution[T], error) {
	if missing >= 0 {
		return Resolution[T]{Value: s.def, Source: SourceLocalDefault, Retrieved: true},
			&MissingFeatureError{Setting: s.name, Feature: s.features[missing]}
	}
	if rule < 0 {
		return s.fallback(sn), nil
	}
	r := &sn.rules[rule]
	return Resolution[T]{Value: sn.values[rule], Source: SourceRule, RuleID: r.ID, Conditions: r.Conditions, Retrieved: true}, nil
}

// fallback is the server default if one was accepted, else the local default.
func (s *Setting[T]) fallback(sn *snapshot[T]) Resolution[T] {
	if sn != nil && sn.hasDefault {
		return Resolution[T]{Value: sn.serverDefault, Source: SourceServerDefault, Retrieved: sn.retrieved}
	}
	return Resolution[T]{Value: s.def, Source: SourceLocalDefault, Retrieved: sn != nil && sn.retrieved}
}

func (s *Setting[T]) notConfigurable(explicit map[string]string) error {
	var bad []string
	for k := range explicit {
		if !s.hasFeature(k) {
			bad = append(bad, k)
		}
	}
	slices.Sort(bad)
	return &NotConfigurableError{Setting: s.name, Features: bad}
}

var discardLogger = slog.New(slog.DiscardHandler)

// readLogger is where reads log: WithSettingLogger, else the WithClient
// client's logger, else the main occupant's logger; with none of them (no
// client is main yet) it returns slog.Default and noClient.
func (s *Setting[T]) readLogger() (l *slog.Logger, noClient bool) {
	if s.log != nil {
		return s.log, false
	}
	if s.owner != nil {
		return s.owner.logger(), false
	}
	if sup := currentSupplier(); sup != nil {
		if l := sup.logger(); l != nil {
			return l, false
		}
	}
	return slog.Default(), true
}

// logNeverRetrieved logs the INFO line of a read before any rules arrived.
// With no client main yet it goes to slog.Default, once per setting: the
// program reads before it made a client main, and a read in a loop must not
// flood the log.
func (s *Setting[T]) logNeverRetrieved(ctx context.Context) {
	l, noClient := s.readLogger()
	if noClient {
		if s.warnedNoClient.Swap(true) {
			return
		}
		l.InfoContext(ctx, "the value of setting was never retrieved from service", "setting", s.name,
			"reason", "no client is main yet")
		return
	}
	if l.Enabled(ctx, slog.LevelInfo) {
		l.InfoContext(ctx, "the value of setting was never retrieved from service", "setting", s.name)
	}
}
