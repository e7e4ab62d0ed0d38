package heksher

import (
	"context"
	"maps"
	"slices"

	"github.com/heksher-go/heksher/internal/resolve"
)

// Features is a request's explicit context-feature values, prepared once and
// then used to read any number of settings with [Setting.GetFor]: the values
// are hashed once, and the main client's warnings about unknown or untracked
// values (spec §4.3) are logged once, by [NewFeatures], rather than at every
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
	names  []string // sorted
	nhash  []uint64 // resolve.Hash(names[i])
	values []string
	vhash  []uint64 // resolve.Hash(values[i])
}

// NewFeatures prepares explicit values for [Setting.GetFor]. The map is
// copied. If a client is main, it logs its warnings about these values now
// (never again for this Features).
func NewFeatures(ctx context.Context, explicit map[string]string) Features {
	if sup := currentSupplier(); sup != nil {
		sup.warnExplicit(ctx, explicit)
	}
	return prepareFeatures(explicit)
}

// newFeatures is NewFeatures with the warnings of a given supplier.
func newFeatures(sup supplier, ctx context.Context, explicit map[string]string) Features {
	if sup != nil {
		sup.warnExplicit(ctx, explicit)
	}
	return prepareFeatures(explicit)
}

func prepareFeatures(explicit map[string]string) Features {
	f := Features{names: slices.Sorted(maps.Keys(explicit))}
	f.nhash = make([]uint64, len(f.names))
	f.values = make([]string, len(f.names))
	f.vhash = make([]uint64, len(f.names))
	for i, n := range f.names {
		f.nhash[i] = resolve.Hash(n)
		f.values[i] = explicit[n]
		f.vhash[i] = resolve.Hash(f.values[i])
	}
	return f
}

// Len returns the number of explicit values.
func (f Features) Len() int { return len(f.names) }

// Value returns the explicit value of feature.
func (f Features) Value(feature string) (string, bool) {
	if i, ok := slices.BinarySearch(f.names, feature); ok {
		return f.values[i], true
	}
	return "", false
}

// Map returns the explicit values as a new map.
func (f Features) Map() map[string]string {
	m := make(map[string]string, len(f.names))
	for i, n := range f.names {
		m[n] = f.values[i]
	}
	return m
}

// find returns the index of the feature whose name hash is h and name is
// name, or -1. A linear scan over hashes beats a map for the handful of
// features a request carries.
func (f *Features) find(name string, h uint64) int {
	for i, x := range f.nhash {
		if x == h && f.names[i] == name {
			return i
		}
	}
	return -1
}

// GetFor is [Setting.Get] for prepared features: the fast path for reading
// several settings per request. Features the setting does not configure are
// ignored; the supplying client's defaults fill the configurable features f
// has no value for.
//
// GetFor never locks and, for up to 8 configurable features, never
// allocates.
//
// # Errors
//
// A *[MissingFeatureError] (matches [ErrMissingContextFeature]) when
// resolution reaches a feature with neither a value in f nor a default.
func (s *Setting[T]) GetFor(ctx context.Context, f Features) (T, error) {
	r, err := s.LookupFor(ctx, f)
	return r.Value, err
}

// LookupFor is [Setting.GetFor] that also says where the value came from.
func (s *Setting[T]) LookupFor(ctx context.Context, f Features) (Resolution[T], error) {
	sn := s.state.Load()
	if sn == nil || !sn.retrieved {
		s.logNeverRetrieved(ctx)
		return s.fallback(sn), nil
	}
	n := len(s.features)
	var vbuf [inlineFeatures]string
	var hbuf [inlineFeatures]uint64
	values, hashes := vbuf[:0], hbuf[:0]
	if n > inlineFeatures {
		values, hashes = make([]string, 0, n), make([]uint64, 0, n)
	}
	var present uint64
	for d, name := range s.features {
		var v string
		var h uint64
		if i := f.find(name, s.featHash[d]); i >= 0 {
			v, h = f.values[i], f.vhash[i]
			present |= 1 << d
		} else if dv, ok := sn.from.defaultValue(ctx, name); ok {
			v, h = dv, resolve.Hash(dv)
			present |= 1 << d
		}
		values = append(values, v)
		hashes = append(hashes, h)
	}
	return s.resolveIn(sn, values, hashes, present)
}
