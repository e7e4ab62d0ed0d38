package heksher

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// TrackAll, as the only value of a feature in [Client.TrackContexts], asks for
// the rules of every value of that feature. It is the string "*", so tracking
// the value "*" is tracking all (as in the reference client).
const TrackAll = "*"

// trackEntry is one feature's tracking: all values, or a sorted set.
type trackEntry struct {
	all    bool
	values []string // sorted, distinct
}

// trackConfig is an immutable tracking configuration; TrackContexts swaps a
// new one in.
type trackConfig struct {
	feats map[string]trackEntry
	// check answers Get's warnings (untracked values) with one lookup per
	// explicit value: every client feature and every tracked feature.
	check map[string]featCheck
}

type featCheck struct {
	known bool // one of the client's context features
	trackEntry
}

// newTrackConfig builds the configuration for feats and the client's
// features.
func newTrackConfig(features []string, feats map[string]trackEntry) *trackConfig {
	t := &trackConfig{feats: feats, check: make(map[string]featCheck, len(features)+len(feats))}
	for _, f := range features {
		t.check[f] = featCheck{known: true}
	}
	for f, e := range feats {
		fc := t.check[f]
		fc.trackEntry = e
		t.check[f] = fc
	}
	return t
}

// explicitOK reports whether an explicit value needs no warning: its
// feature is the client's and the value is tracked.
func (t *trackConfig) explicitOK(feature, value string) bool {
	fc, ok := t.check[feature]
	if !ok || !fc.known {
		return false
	}
	if fc.all {
		return true
	}
	for _, v := range fc.values {
		if v == value {
			return true
		}
	}
	return false
}

// filters renders the context_filters parameter (B34, B63): features sorted
// by name, `name:*` or `name:(v1,v2)` with sorted values, joined by ",", no
// escaping; "" when nothing is tracked.
func (t *trackConfig) filters() string {
	if t == nil || len(t.feats) == 0 {
		return ""
	}
	var b strings.Builder
	for i, f := range slices.Sorted(maps.Keys(t.feats)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f)
		e := t.feats[f]
		if e.all {
			b.WriteString(":*")
			continue
		}
		b.WriteString(":(")
		b.WriteString(strings.Join(e.values, ","))
		b.WriteByte(')')
	}
	return b.String()
}

func (t *trackConfig) equal(o *trackConfig) bool {
	return t.filters() == o.filters()
}

// TrackContexts says which rules the client downloads (B34–B37): for each
// feature, the values whose rules it wants, or [TrackAll]. Values accumulate
// over calls (duplicates are ignored). Features not among the client's
// context features are logged at WARN and tracked anyway. It takes effect at
// the next update; rules already received stay until then.
//
//	err := c.TrackContexts(map[string][]string{
//		"user":  {"admin", "guest"},
//		"theme": {heksher.TrackAll},
//	})
//
// # Errors
//
// [ErrInvalidTracking] for an empty value list, [TrackAll] together with
// other values, TrackAll for a feature that already tracks values (or is
// already TrackAll), or values for a feature that is TrackAll. The whole call
// is checked first: on error nothing is applied.
func (c *Client) TrackContexts(tracks map[string][]string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.tracking.Load()
	feats := make(map[string]trackEntry, len(tracks)+len(cur.feats))
	maps.Copy(feats, cur.feats)
	next := &trackConfig{feats: feats}
	var unknown []string
	for _, f := range slices.Sorted(maps.Keys(tracks)) {
		vals := tracks[f]
		old, had := next.feats[f]
		switch {
		case len(vals) == 0:
			return fmt.Errorf("%w: track %q: empty value list", ErrInvalidTracking, f)
		case slices.Contains(vals, TrackAll) && len(slices.Compact(slices.Sorted(slices.Values(vals)))) > 1:
			return fmt.Errorf("%w: track %q: TrackAll mixed with values", ErrInvalidTracking, f)
		case slices.Contains(vals, TrackAll):
			if had {
				return fmt.Errorf("%w: track %q: TrackAll for a feature that already tracks values or all", ErrInvalidTracking, f)
			}
			next.feats[f] = trackEntry{all: true}
		default:
			if had && old.all {
				return fmt.Errorf("%w: track %q: values for a feature tracked with TrackAll", ErrInvalidTracking, f)
			}
			merged := slices.Concat(old.values, vals)
			slices.Sort(merged)
			next.feats[f] = trackEntry{values: slices.Compact(merged)}
		}
		if !slices.Contains(c.features, f) {
			unknown = append(unknown, f)
		}
	}
	if len(unknown) > 0 {
		c.log.Warn("context features are not specified in server", "features", unknown)
	}
	c.warnFilterSyntax(tracks)
	c.tracking.Store(newTrackConfig(c.features, next.feats))
	c.endWatchLocked() // the query's filters change
	return nil
}

// warnFilterSyntax warns about names the service cannot take in a filter
// (context_filters): anything outside [a-zA-Z_0-9]+ makes every update fail with
// 422, and the reference server reads a feature name with anything but
// lower-case letters as another name, so its rules never arrive.
func (c *Client) warnFilterSyntax(tracks map[string][]string) {
	for _, f := range slices.Sorted(maps.Keys(tracks)) {
		if !filterToken(f) {
			c.log.Warn("heksher: context feature name is not valid in a context filter; the service will reject every update", "feature", f)
		} else if strings.ContainsFunc(f, func(r rune) bool { return r < 'a' || r > 'z' }) {
			c.log.Warn("heksher: the reference Heksher server ignores filter features whose name is not lower-case letters only; rules on it will not be downloaded", "feature", f)
		}
		for _, v := range tracks[f] {
			if v != TrackAll && !filterToken(v) {
				c.log.Warn("heksher: context feature value is not valid in a context filter; the service will reject every update", "feature", f, "value", v)
			}
		}
	}
}

func filterToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}
