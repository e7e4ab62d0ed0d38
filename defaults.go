package heksher

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// Default is the default value of a context feature: a fixed string
// ([Static]) or a function of the request's context ([FromContext]).
type Default struct {
	static string
	fn     func(context.Context) (string, bool)
}

// Static returns a default that is always v.
func Static(v string) Default { return Default{static: v} }

// FromContext returns a default read from the context of each Get: f returns
// the value and true, or false when the context has none (the feature is
// then absent). It is the counterpart of a Python ContextVar; one with a
// default corresponds to an f that always returns true. f must be fast and
// safe for concurrent use.
// A nil f is the same as Static("").
func FromContext(f func(ctx context.Context) (string, bool)) Default { return Default{fn: f} }

// contextDefaults holds a client's (or stub's) defaults. Reads are lock-free
// (copy-on-write); writes are serialised.
type contextDefaults struct {
	mu  sync.Mutex
	cur atomic.Pointer[map[string]Default]
}

// set adds defaults (B33): a feature that already has one fails the
// whole call with ErrDuplicateDefault and nothing is applied; with warn,
// features outside known are logged, and stored anyway.
func (d *contextDefaults) set(log *slog.Logger, known []string, warn bool, m map[string]Default) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var old map[string]Default
	if p := d.cur.Load(); p != nil {
		old = *p
	}
	var dup, unknown []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if _, ok := old[k]; ok {
			dup = append(dup, k)
		}
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(dup) > 0 {
		return fmt.Errorf("%w: %s", ErrDuplicateDefault, quoteNames(dup))
	}
	if warn && len(unknown) > 0 {
		log.Warn("context features are not specified in the client", "features", unknown)
	}
	next := make(map[string]Default, len(old)+len(m))
	maps.Copy(next, old)
	maps.Copy(next, m)
	d.cur.Store(&next)
	return nil
}

// value returns feature's default: the static one, else the dynamic one.
func (d *contextDefaults) value(ctx context.Context, feature string) (string, bool) {
	p := d.cur.Load()
	if p == nil {
		return "", false
	}
	v, ok := (*p)[feature]
	if !ok {
		return "", false
	}
	if v.fn == nil {
		return v.static, true
	}
	return v.fn(ctx)
}

// SetDefaults gives context features default values, used by Get when the
// caller passes no explicit value (B33). Features not among the
// client's context features are logged at WARN and stored anyway. It may be
// called before or after SetAsMain and takes effect at the next Get.
//
// # Errors
//
// A feature that already has a default gives [ErrDuplicateDefault], and then
// nothing of that call is applied; a default can be neither replaced nor
// removed.
func (c *Client) SetDefaults(defaults map[string]Default) error {
	return c.defaults.set(c.log, c.features, true, defaults)
}
