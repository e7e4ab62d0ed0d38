package server

import (
	"fmt"
	"strings"
)

// Fixes lists the reference behaviours an [Engine] reproduces by default
// (clients see them, so tests against the engine should too) and can
// switch to the intended behaviour. Numbers refer to the table
// in docs/DEVSERVER.md. The zero value reproduces everything.
type Fixes struct {
	// LowercaseFilterKeys reads context_filters keys with the full
	// context-feature pattern instead of the reference's lower-case-only
	// one, under which a filter on "build_id" is read as "id" (#2).
	LowercaseFilterKeys bool

	// FalsyDefaultUpgrade stores a falsy new default (0, false, "", [],
	// {}) on an accepted upgrade; the reference reports the upgrade but
	// keeps the old default (#6).
	FalsyDefaultUpgrade bool

	// ETagMatching compares If-None-Match as a list of entity tags (weak
	// comparison, `*` matches) instead of as a substring (#1).
	ETagMatching bool

	// VersionEquality compares declared versions numerically, so "1.00"
	// after "1.0" is the same version rather than an upgrade (#3).
	VersionEquality bool

	// RenameVersion makes PUT /settings/{name}/name require a strictly
	// higher version for an actual rename (#5).
	RenameVersion bool

	// EmptyRuleMetadataMerge makes POST /rules/{id}/metadata with {} answer
	// 404 for a missing rule (#14).
	EmptyRuleMetadataMerge bool

	// UnknownRuleSetting answers 404 instead of 422 when POST /rules names
	// an unknown setting (#15).
	UnknownRuleSetting bool

	// BoolNumberEquality makes true differ from 1 (and false from 0) when
	// declared defaults and metadata are compared (#17).
	BoolNumberEquality bool
}

// fixNames maps the names ParseFixes accepts to the fields they set.
var fixNames = map[string]func(*Fixes){
	"filter-keys":          func(f *Fixes) { f.LowercaseFilterKeys = true },
	"falsy-defaults":       func(f *Fixes) { f.FalsyDefaultUpgrade = true },
	"etag":                 func(f *Fixes) { f.ETagMatching = true },
	"version-equality":     func(f *Fixes) { f.VersionEquality = true },
	"rename-version":       func(f *Fixes) { f.RenameVersion = true },
	"empty-rule-metadata":  func(f *Fixes) { f.EmptyRuleMetadataMerge = true },
	"unknown-rule-setting": func(f *Fixes) { f.UnknownRuleSetting = true },
	"bool-number":          func(f *Fixes) { f.BoolNumberEquality = true },
}

// FixNames returns the names [ParseFixes] accepts, for help texts.
func FixNames() []string {
	return []string{"filter-keys", "falsy-defaults", "etag", "version-equality", "rename-version",
		"empty-rule-metadata", "unknown-rule-setting", "bool-number"}
}

// ParseFixes reads a comma-separated list of fix names (see [FixNames]);
// "all" sets every fix and "" none.
//
// # Errors
//
// An unknown name.
func ParseFixes(list string) (Fixes, error) {
	var f Fixes
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
		case name == "all":
			for _, set := range fixNames {
				set(&f)
			}
		case fixNames[name] != nil:
			fixNames[name](&f)
		default:
			return Fixes{}, fmt.Errorf("server: unknown fix %q (known: all, %s)", name, strings.Join(FixNames(), ", "))
		}
	}
	return f, nil
}
