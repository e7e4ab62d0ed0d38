package heksher

import (
	"context"
	"slices"
	"strings"

	"github.com/heksher-go/heksher/internal/resolve"
)

// Features is a request's explicit context-feature values, prepared once and
// then used to read any number of settings with [Setting.GetFor]: the values
// are hashed once, and the main client's warnings about unknown or untracked
// values (Get-time warnings) are logged once, by [NewFeatures], rather than at every
// read.
//
// Unlike the map given to [Setting.Get], a Features describes the whole
// request: a setting ignores the features it does not configure instead of
// failing. Defaults of the features without an explicit value come, at each
// read, from the client that supplied the setting's rules, as with Get.
//
// A Features is immutable and safe for concurrent use. The zero Features has
// no explicit values.
type Features struct {
	entries []featureValue // sorted by name
}

// featureValue is one explicit value with the hashes GetFor needs.
type featureValue struct {
	nhash uint64 // resolve.Hash(name)
	vhash uint64 // resolve.Hash(value)
	name  string
	value string
}

// NewFeatures prepares explicit values for [Setting.GetFor]. The map is
// copied. If a client is main, it logs its warnings about these values now
// (never again for this Features).
func NewFeatures(ctx context.Context, explicit map[string]string) Features {
	return newFeatures(ctx, currentSupplier(), explicit)
}

// newFeatures is NewFeatures with the warnings of a given supplier (nil:
// none).
func newFeatures(ctx context.Context, sup supplier, explicit map[string]string) Features {
	if sup != nil {
		sup.warnExplicit(ctx, explicit)
	}
	return prepareFeatures(explicit)
}

func prepareFeatures(explicit map[string]string) Features {
	if len(explicit) == 0 {
		return Features{}
	}
	es := make([]featureValue, 0, len(explicit))
	for n, v := range explicit {
		es = append(es, featureValue{nhash: resolve.Hash(n), vhash: resolve.Hash(v), name: n, value: v})
	}
	slices.SortFunc(es, func(a, b featureValue) int { return strings.Compare(a.name, b.name) })
	return Features{entries: es}
}

// Len returns the number of explicit values.
func (f Features) Len() int { return len(f.entries) }

// Value returns the explicit value of feature.
func (f Features) Value(feature string) (string, bool) {
	i, ok := slices.BinarySearchFunc(f.entries, feature, func(e featureValue, n string) int { return strings.Compare(e.name, n) })
	if !ok {
		return "", false
	}
	return f.entries[i].value, true
}

// Map returns the explicit values as a new map.
func (f Features) Map() map[string]string {
	m := make(map[string]string, len(f.entries))
	for _, e := range f.entries {
		m[e.name] = e.value
	}
	return m
}

// GetFor is [Setting.Get] for prepared features: the fast path for reading
// several settings per request. Features the setting does not configure are
// ignored; the supplying client's defaults fill the configurable features f
// has no value for.
//
// Once rules arrived, GetFor never locks and, for up to 8 configurable
// features, never allocates.
//
// # Errors
//
// A *[MissingFeatureError] (matches [ErrMissingContextFeature]) when
// resolution reaches a feature with neither a value in f nor a default.
func (s *Setting[T]) GetFor(ctx context.Context, f Features) (T, error) {
	sn := s.current(ctx)
	if sn == nil || !sn.retrieved {
		s.logNeverRetrieved(ctx)
		return s.fallback(sn).Value, nil
	}
	rule, missing := s.locateFor(ctx, sn, &f)
	switch {
	case missing >= 0:
		return s.def, &MissingFeatureError{Setting: s.name, Feature: s.features[missing]}
	case rule < 0:
		return s.fallback(sn).Value, nil
	}
	return sn.values[rule], nil
}

// LookupFor is [Setting.GetFor] that also says where the value came from,
// and any declaration conflict, as [Setting.Lookup] does.
func (s *Setting[T]) LookupFor(ctx context.Context, f Features) (Resolution[T], error) {
	r, err := s.lookupFor(ctx, f)
	s.addConflict(&r)
	return r, err
}

func (s *Setting[T]) lookupFor(ctx context.Context, f Features) (Resolution[T], error) {
	sn := s.current(ctx)
	if sn == nil || !sn.retrieved {
		s.logNeverRetrieved(ctx)
		return s.fallback(sn), nil
	}
	rule, missing := s.locateFor(ctx, sn, &f)
	return s.resolution(sn, rule, missing)
}

// locateFor resolves f against a retrieved snapshot: the winning rule's
// index or -1, or the index of a missing feature.
func (s *Setting[T]) locateFor(ctx context.Context, sn *snapshot[T], f *Features) (rule, missing int) {
	n := len(s.features)
	var vbuf [inlineFeatures]string
	var hbuf [inlineFeatures]uint64
	values, hashes := vbuf[:], hbuf[:]
	if n > inlineFeatures {
		values, hashes = make([]string, n), make([]uint64, n)
	}
	values, hashes = values[:n], hashes[:n]
	var present uint64
	for d, name := range s.features {
		h := s.featHash[d]
		found := false
		for i := range f.entries {
			if e := &f.entries[i]; e.nhash == h && e.name == name {
				values[d], hashes[d] = e.value, e.vhash
				found = true
				break
			}
		}
		if !found {
			v, ok := sn.from.defaultValue(ctx, name)
			if !ok {
				continue
			}
			values[d], hashes[d] = v, resolve.Hash(v)
		}
		present |= 1 << d
	}
	return sn.table.Lookup(values, hashes, present)
}
