package heksher

import (
	"bytes"
	"log/slog"
	"slices"

	"github.com/heksher-go/heksher/internal/wire"
)

// Two settings of one name: the later replaces the earlier in the client's
// tracking (as in heksher-py), which is what plugins and the host sharing
// one declaration rely on. When they are identical that is all; when they
// differ, one of them was a mistake that would otherwise go unnoticed (the
// earlier object stops receiving values), so it is reported once, when the
// later one registers.

// reportRedeclared warns, on log, when next differs from prev, an earlier
// setting of the same name.
func reportRedeclared(log *slog.Logger, prev, next settingHandle) {
	if prev == nil || prev == next {
		return
	}
	diffs := declarationDiffs(prev.declaration(), next.declaration())
	if len(diffs) == 0 {
		return
	}
	log.Warn("heksher: two settings of one name differ; the later replaces the earlier",
		"setting", next.settingName(), "differences", diffs)
}

// declarationDiffs lists what differs between two declarations, as
// "attribute: earlier → later".
func declarationDiffs(a, b wire.DeclareRequest) []string {
	var out []string
	add := func(attr, x, y string) {
		if x != y {
			out = append(out, attr+": "+x+" → "+y)
		}
	}
	add("type", a.Type, b.Type)
	if !slices.Equal(a.ConfigurableFeatures, b.ConfigurableFeatures) {
		add("features", render(a.ConfigurableFeatures), render(b.ConfigurableFeatures))
	}
	if !bytes.Equal(compactJSON(a.DefaultValue), compactJSON(b.DefaultValue)) {
		add("default", string(compactJSON(a.DefaultValue)), string(compactJSON(b.DefaultValue)))
	}
	add("version", a.Version, b.Version)
	add("alias", deref(a.Alias), deref(b.Alias))
	ma, _ := wire.Marshal(a.Metadata)
	mb, _ := wire.Marshal(b.Metadata)
	if !bytes.Equal(ma, mb) {
		add("metadata", string(ma), string(mb))
	}
	return out
}

func render(fs []string) string {
	b, _ := wire.Marshal(fs)
	return string(b)
}

func deref(s *string) string {
	if s == nil {
		return "none"
	}
	return *s
}

// sameNameLocked returns the latest setting named name that c holds
// (queued, in flight, awaiting a retry or tracked), or nil. c.mu must be
// held.
func (c *Client) sameNameLocked(name string) settingHandle {
	for i := len(c.queue) - 1; i >= 0; i-- {
		if c.queue[i].settingName() == name {
			return c.queue[i]
		}
	}
	if c.inFlight != nil && c.inFlight.settingName() == name {
		return c.inFlight
	}
	for i := len(c.retry) - 1; i >= 0; i-- {
		if c.retry[i].settingName() == name {
			return c.retry[i]
		}
	}
	return c.tracked[name]
}
