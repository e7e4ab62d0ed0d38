package heksher

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// Context values that the client does not track (untracked features, docs/CONFORMANCE.md D2) are the
// mark of a forgotten TrackContexts: the rules for them are never
// downloaded, and every read silently serves a default. The reference warns
// at every read about explicit values only; this client checks every value,
// explicit or from a default (Static or FromContext), and warns once per
// distinct value, so that the warning is seen and a hot path does not flood
// the log. The set of values already reported is bounded (maxUntracked):
// past it, one last warning says that no more are reported.
//
// Values that come from outside the program (a lookup API, OFREP, a relay:
// see ExternalContext) are chosen by a remote caller, not by the program,
// so they are logged at DEBUG and never enter the set: a remote caller can
// neither flood the log nor use up the set that the program's own mistakes
// need.

// maxUntracked bounds the warn-once set of a client.
const maxUntracked = 256

// externalKey marks a context whose reads carry values from outside the
// program.
type externalKey struct{}

// ExternalContext returns a copy of ctx that marks the reads made with it
// as carrying context values chosen outside the program: by a caller of a
// lookup API, an OFREP endpoint or a relay. For such reads, values the
// client does not track, and features it does not know, are logged at
// DEBUG instead of WARN, and are not counted against the client's
// once-per-value warnings. Pass the marked context to [Setting.Get],
// [Setting.Lookup], [NewFeatures] and the like.
func ExternalContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, externalKey{}, true)
}

func isExternal(ctx context.Context) bool {
	v, _ := ctx.Value(externalKey{}).(bool)
	return v
}

// untrackedKey is one reported problem: a feature the client does not know
// (value "" and unknown set), or a value it does not track.
type untrackedKey struct {
	feature, value string
	unknown        bool
}

// warnOnce is a bounded set of reported problems. Reads of the set are
// lock-free (copy-on-write), so a value reported before costs a map lookup
// and no allocation.
type warnOnce struct {
	mu   sync.Mutex
	seen atomic.Pointer[map[untrackedKey]struct{}]
	full bool
}

// first reports whether k is reported for the first time; overflow is true
// once, for the first key that did not fit.
func (w *warnOnce) first(k untrackedKey) (first, overflow bool) {
	if m := w.seen.Load(); m != nil {
		if _, ok := (*m)[k]; ok {
			return false, false
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var cur map[untrackedKey]struct{}
	if m := w.seen.Load(); m != nil {
		cur = *m
	}
	if _, ok := cur[k]; ok {
		return false, false
	}
	if len(cur) >= maxUntracked {
		if w.full {
			return false, false
		}
		w.full = true
		return false, true
	}
	next := make(map[untrackedKey]struct{}, len(cur)+1)
	maps.Copy(next, cur)
	next[k] = struct{}{}
	w.seen.Store(&next)
	return true, false
}

// Where a checked value came from, as logged.
const (
	fromExplicit = "explicit"
	fromDefault  = "default"
)

// warnExplicit implements Get's warnings for explicit values, once per
// value. It allocates nothing when every value is tracked or was reported
// before.
func (c *Client) warnExplicit(ctx context.Context, explicit map[string]string) {
	if len(explicit) == 0 {
		return
	}
	t := c.tracking.Load()
	for k, v := range explicit {
		if !t.explicitOK(k, v) {
			c.reportUntracked(ctx, k, v, fromExplicit)
		}
	}
}

// defaultValue is a feature's default (static, else from ctx), checked
// against the tracked values like an explicit one.
func (c *Client) defaultValue(ctx context.Context, feature string) (string, bool) {
	v, ok := c.defaults.value(ctx, feature)
	if ok && !c.tracking.Load().valueTracked(feature, v) {
		c.reportUntracked(ctx, feature, v, fromDefault)
	}
	return v, ok
}

// reportUntracked logs one value the client does not track (or whose
// feature it does not know): at WARN the first time, at DEBUG for values
// from outside the program.
func (c *Client) reportUntracked(ctx context.Context, feature, value, from string) {
	_, known := c.featureSet[feature]
	if from == fromDefault {
		// SetDefaults warned about the unknown feature already; what
		// matters at a read is that the value's rules are not downloaded.
		known = true
	}
	if isExternal(ctx) {
		if c.log.Enabled(ctx, slog.LevelDebug) {
			c.logUntracked(ctx, slog.LevelDebug, known, feature, value, from)
		}
		return
	}
	k := untrackedKey{feature: feature, value: value}
	if !known {
		k = untrackedKey{feature: feature, unknown: true}
	}
	first, overflow := c.untracked.first(k)
	switch {
	case overflow:
		c.log.WarnContext(ctx, "heksher: more context values are not tracked; no more are reported", "reported", maxUntracked)
	case first:
		c.logUntracked(ctx, slog.LevelWarn, known, feature, value, from)
	}
}

func (c *Client) logUntracked(ctx context.Context, level slog.Level, known bool, feature, value, from string) {
	if !known {
		c.log.Log(ctx, level, "context features are not specified in server", "feature", feature, "from", from)
		return
	}
	c.log.Log(ctx, level, "context feature value is not tracked by client", "feature", feature, "value", value, "from", from,
		"tracked", c.tracking.Load().valuesOf(feature))
}

// valueTracked reports whether value of feature is tracked (all values, or
// among the listed ones).
func (t *trackConfig) valueTracked(feature, value string) bool {
	fc, ok := t.check[feature]
	if !ok {
		return false
	}
	if fc.all {
		return true
	}
	_, found := slices.BinarySearch(fc.values, value)
	return found
}

// valuesOf renders what is tracked of feature, for a log line.
func (t *trackConfig) valuesOf(feature string) []string {
	e, ok := t.feats[feature]
	switch {
	case !ok:
		return []string{}
	case e.all:
		return []string{TrackAll}
	}
	return slices.Clone(e.values)
}
