package host

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/heksher-go/heksher/internal/htype"
	"github.com/heksher-go/heksher/pluginapi"
)

// ownerHost names the host itself as a declarer of settings.
const ownerHost = "host"

// registry holds every setting declared to the host, by the host's own
// configuration or by plugins, and who declared it. Two identical
// declarations share one setting; a differing one is refused. A setting, once
// declared, keeps its declaration for the host's life (Heksher itself cannot
// take it back), even after every plugin that declared it is removed.
type registry struct {
	mu     sync.RWMutex
	byName map[string]*declEntry
	order  []string
	// rank orders a setting's owners: the host, then the plugins in
	// configuration order (plugins load at once, so the order in which
	// they are added is chance).
	rank map[string]int
}

type declEntry struct {
	decl   pluginapi.Declaration // normalised
	owners []string
	// provisional marks a declaration made by a plugin while it
	// initialised, before it was committed (see addProvisional): until
	// someone owns it, a committed declaration replaces it instead of
	// conflicting with it.
	provisional bool
}

func newRegistry() *registry { return &registry{byName: map[string]*declEntry{}} }

// normalize checks d and returns it with its type string normalised, its
// default compacted and its version defaulted, so that identical
// declarations compare equal however they were spelt.
func normalize(d pluginapi.Declaration) (pluginapi.Declaration, error) {
	if d.Name == "" {
		return d, fmt.Errorf("host: a declaration has no name")
	}
	if len(d.Name) > maxSettingName {
		return d, fmt.Errorf("host: setting %q: a name of %d bytes; at most %d", clip(d.Name), len(d.Name), maxSettingName)
	}
	if len(d.Type) > maxTypeString {
		return d, fmt.Errorf("host: setting %q: a type string of %d bytes; at most %d", d.Name, len(d.Type), maxTypeString)
	}
	t, err := htype.Parse(d.Type)
	if err != nil {
		return d, fmt.Errorf("host: setting %q: %w; %s", d.Name, clipped{err}, htype.Hint(d.Type))
	}
	d.Type = t.String()
	if len(d.Default) == 0 {
		return d, fmt.Errorf("host: setting %q: a declaration needs a default value", d.Name)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, d.Default); err != nil {
		return d, fmt.Errorf("host: setting %q: default is not JSON: %w", d.Name, err)
	}
	if err := t.Validate(buf.Bytes()); err != nil {
		return d, fmt.Errorf("host: setting %q: default %s is not a %s: %w", d.Name, clip(buf.String()), clip(d.Type), clipped{err})
	}
	d.Default = buf.Bytes()
	if len(d.ConfigurableFeatures) == 0 {
		// Heksher refuses such a declaration; refusing the plugin's load
		// says so at once instead of leaving the setting undeclared.
		return d, fmt.Errorf("host: setting %q: a declaration needs at least one configurable feature", d.Name)
	}
	if d.Version == "" {
		d.Version = "1.0"
	}
	d.ConfigurableFeatures = slices.Clone(d.ConfigurableFeatures)
	return d, nil
}

// check reports the first conflict between decls (already normalised) and
// the registry, or between decls themselves, without changing anything.
func (r *registry) check(owner string, decls []pluginapi.Declaration) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	seen := map[string]pluginapi.Declaration{}
	for _, d := range decls {
		if prev, ok := seen[d.Name]; ok {
			if err := compare(d.Name, owner, prev, d); err != nil {
				return err
			}
		}
		seen[d.Name] = d
		if e, ok := r.byName[d.Name]; ok && !e.replaceable() {
			first := "an unloaded plugin"
			if len(e.owners) > 0 {
				first = e.owners[0]
			}
			if first != ownerHost {
				first = fmt.Sprintf("plugin %q", first)
			}
			if err := compare(d.Name, first, e.decl, d); err != nil {
				return err
			}
		}
	}
	return nil
}

func compare(name, existing string, have, want pluginapi.Declaration) error {
	c := &ConflictError{Setting: name, Existing: existing}
	switch {
	case have.Type != want.Type:
		c.Field, c.Have, c.Want = "type", clip(have.Type), clip(want.Type)
	case !slices.Equal(have.ConfigurableFeatures, want.ConfigurableFeatures):
		c.Field = "configurable_features"
		c.Have = clip("[" + strings.Join(have.ConfigurableFeatures, ",") + "]")
		c.Want = clip("[" + strings.Join(want.ConfigurableFeatures, ",") + "]")
	case !bytes.Equal(have.Default, want.Default):
		c.Field, c.Have, c.Want = "default_value", orNone(have.Default), orNone(want.Default)
	case have.Version != want.Version:
		c.Field, c.Have, c.Want = "version", clip(have.Version), clip(want.Version)
	default:
		return nil
	}
	return c
}

func orNone(b []byte) string {
	if len(b) == 0 {
		return "none"
	}
	return clip(string(b))
}

// replaceable reports whether a committed declaration replaces e rather
// than being checked against it: e was made by an initialisation and nobody
// owns it yet.
func (e *declEntry) replaceable() bool { return e.provisional && len(e.owners) == 0 }

// add records owner's declarations (checked beforehand) and returns those
// whose names are new to the registry, and those that replace a differing
// provisional declaration, in order.
func (r *registry) add(owner string, decls []pluginapi.Declaration) []pluginapi.Declaration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var fresh []pluginapi.Declaration
	for _, d := range decls {
		e, ok := r.byName[d.Name]
		switch {
		case !ok:
			e = &declEntry{decl: d}
			r.byName[d.Name] = e
			r.order = append(r.order, d.Name)
			fresh = append(fresh, d)
		case e.replaceable() && compare(d.Name, "", e.decl, d) != nil:
			e.decl = d
			fresh = append(fresh, d)
		}
		e.provisional = false
		if !slices.Contains(e.owners, owner) {
			e.owners = append(e.owners, owner)
			slices.SortStableFunc(e.owners, func(a, b string) int { return r.rankOf(a) - r.rankOf(b) })
		}
	}
	return fresh
}

// addProvisional records d (normalised), declared by a plugin during its
// initialisation, when no setting of its name is known yet, and reports
// whether it did. The entry has no owner until a plugin that declares it is
// committed; a committed declaration that differs replaces it (add).
func (r *registry) addProvisional(d pluginapi.Declaration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byName[d.Name]; ok {
		return false
	}
	r.byName[d.Name] = &declEntry{decl: d, provisional: true}
	r.order = append(r.order, d.Name)
	return true
}

// matches reports whether setting is known with a declaration equal to d
// (normalised), and whether it is known at all.
func (r *registry) matches(d pluginapi.Declaration) (same, exists bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.byName[d.Name]
	if !ok {
		return false, false
	}
	return compare(d.Name, "", e.decl, d) == nil, true
}

// setOwnerOrder makes owners listed in the order of names (after the host;
// owners not named last).
func (r *registry) setOwnerOrder(names []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rank = make(map[string]int, len(names))
	for i, n := range names {
		r.rank[n] = i + 1
	}
}

func (r *registry) rankOf(owner string) int {
	if owner == ownerHost {
		return 0
	}
	if i, ok := r.rank[owner]; ok {
		return i
	}
	return len(r.rank) + 1
}

// replaceOrphans replaces the declarations that nobody owns any more by
// those of decls that differ from them, and returns those.
func (r *registry) replaceOrphans(decls []pluginapi.Declaration) []pluginapi.Declaration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []pluginapi.Declaration
	for _, d := range decls {
		if e, ok := r.byName[d.Name]; ok && len(e.owners) == 0 && compare(d.Name, "", e.decl, d) != nil {
			e.decl = d
			out = append(out, d)
		}
	}
	return out
}

// removeOwner forgets that owner declared anything.
func (r *registry) removeOwner(owner string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.byName {
		e.owners = slices.DeleteFunc(e.owners, func(o string) bool { return o == owner })
	}
}

// declaredBy reports whether owner declared setting, and whether the setting
// exists at all.
func (r *registry) declaredBy(setting, owner string) (declared, exists bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.byName[setting]
	if !ok {
		return false, false
	}
	return slices.Contains(e.owners, owner), true
}

// list returns every declaration with its owners, in declaration order.
func (r *registry) list() []declInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]declInfo, 0, len(r.order))
	for _, n := range r.order {
		e := r.byName[n]
		out = append(out, declInfo{decl: e.decl, owners: slices.Clone(e.owners)})
	}
	return out
}

type declInfo struct {
	decl   pluginapi.Declaration
	owners []string
}
