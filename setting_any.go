package heksher

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/heksher-go/heksher/event"
)

// AnySetting is the view of a [Setting] of any value type that code handling
// many settings needs (the plugin host's lookups, status pages): values
// travel as wire JSON. Every *Setting[T] implements it; it is safe for
// concurrent use.
type AnySetting interface {
	// Name returns the setting's name.
	Name() string
	// TypeString returns the declared type string.
	TypeString() string
	// Features returns the configurable features in resolution order.
	Features() []string
	// Version returns the declared version.
	Version() string
	// DefaultJSON returns the local default as wire JSON.
	DefaultJSON() json.RawMessage
	// RuleSet returns the rules and server default currently held (copies).
	RuleSet() event.RuleSet
	// LookupJSON resolves like [Setting.Lookup] and returns the value as
	// wire JSON (the value after conversion, hooks and validators).
	LookupJSON(ctx context.Context, explicit map[string]string) (JSONResolution, error)
	// LookupFeaturesJSON resolves like [Setting.LookupFor].
	LookupFeaturesJSON(ctx context.Context, f Features) (JSONResolution, error)
	// DeclarationConflict returns the service's conflict with the
	// setting's last answered declaration, or nil (see
	// [Setting.DeclarationConflict]).
	DeclarationConflict() error
}

var _ AnySetting = (*Setting[int64])(nil)

// DefaultJSON returns the local default as wire JSON.
func (s *Setting[T]) DefaultJSON() json.RawMessage { return slices.Clone(s.defWire) }

// RuleSet returns the rules and the server default the setting holds now,
// as wire JSON (fresh copies).
func (s *Setting[T]) RuleSet() event.RuleSet { return s.state.Load().ruleSet() }

// LookupJSON is [Setting.Lookup] with the value as wire JSON.
//
// # Errors
//
// Those of [Setting.Get], and an error matching [ErrInvalidSetting] when a
// validator produced a value that has no wire form (e.g. an Enum value that
// is not a member).
func (s *Setting[T]) LookupJSON(ctx context.Context, explicit map[string]string) (JSONResolution, error) {
	r, err := s.Lookup(ctx, explicit)
	if err != nil {
		return JSONResolution{}, err
	}
	return s.toJSON(r)
}

// LookupFeaturesJSON is [Setting.LookupFor] with the value as wire JSON.
func (s *Setting[T]) LookupFeaturesJSON(ctx context.Context, f Features) (JSONResolution, error) {
	r, err := s.LookupFor(ctx, f)
	if err != nil {
		return JSONResolution{}, err
	}
	return s.toJSON(r)
}

func (s *Setting[T]) toJSON(r Resolution[T]) (JSONResolution, error) {
	var v json.RawMessage
	if r.Source == SourceLocalDefault {
		v = slices.Clone(s.defWire)
	} else {
		var err error
		if v, err = s.typ.ToWire(r.Value); err != nil {
			return JSONResolution{}, wrapOp("setting "+s.name+": resolved value", err, "")
		}
	}
	jr := JSONResolution{Value: v, Source: r.Source, RuleID: r.RuleID,
		Conditions: slices.Clone(r.Conditions), Retrieved: r.Retrieved}
	if r.Conflict != nil {
		jr.Conflict = r.Conflict.Error()
	}
	return jr, nil
}

func (s *Setting[T]) asAny() AnySetting { return s }
