package htype

import (
	"encoding/json"
	"slices"
	"strings"
)

// Type is a parsed Heksher setting type. It is immutable and safe for
// concurrent use. Build one with [Parse].
type Type struct {
	kind Kind
	elem *Type    // Sequence and Mapping
	opts []option // Enum and Flags, in normalised (rendered-text) order
	keys map[string]struct{}
	str  string // normalised rendering, computed once
}

// option is one Enum/Flags member: the literal first written for its
// equality class, and its Python rendering used for the type string.
type option struct {
	val      Value
	rendered string
}

var primitives = map[string]*Type{
	"int":   {kind: Int, str: "int"},
	"float": {kind: Float, str: "float"},
	"str":   {kind: Str, str: "str"},
	"bool":  {kind: Bool, str: "bool"},
}

// Kind returns the shape of t.
func (t *Type) Kind() Kind { return t.kind }

// Elem returns the element type of a Sequence or the value type of a
// Mapping, and nil for other kinds.
func (t *Type) Elem() *Type { return t.elem }

// Options returns the members of an Enum or Flags type, each as compact JSON
// in [AppendJSON]'s style (e.g. `"blue"`, `1`, `1.0`, `true`), in the order
// of the normalised type string; nil for other kinds. The slice is a fresh
// copy.
func (t *Type) Options() []json.RawMessage {
	if t.kind != Enum && t.kind != Flags {
		return nil
	}
	out := make([]json.RawMessage, len(t.opts))
	for i, o := range t.opts {
		out[i] = o.val.AppendJSON(nil)
	}
	return out
}

// OptionValues returns the members of an Enum or Flags type as Values, in
// the order of [Type.Options].
func (t *Type) OptionValues() []Value {
	if t.kind != Enum && t.kind != Flags {
		return nil
	}
	out := make([]Value, len(t.opts))
	for i, o := range t.opts {
		out[i] = o.val
	}
	return out
}

// String returns the normalised type string, as the reference server
// stores and returns it: `Enum [ 3, 1 ,"x", 1.0, true]` renders as
// `Enum["x",1,3,true]`.
func (t *Type) String() string {
	if t == nil {
		return "<nil>"
	}
	return t.str
}

// newOptioned builds an Enum or Flags type from its literal options,
// collapsing JSON-equal duplicates (the first literal wins) and sorting by
// rendered text.
func newOptioned(kind Kind, literals []Value) *Type {
	t := &Type{kind: kind, keys: make(map[string]struct{}, len(literals))}
	for _, l := range literals {
		k := l.primKey()
		if _, dup := t.keys[k]; dup {
			continue
		}
		t.keys[k] = struct{}{}
		t.opts = append(t.opts, option{val: l, rendered: string(appendPyJSON(nil, l))})
	}
	slices.SortStableFunc(t.opts, func(a, b option) int { return strings.Compare(a.rendered, b.rendered) })
	var sb strings.Builder
	sb.WriteString(kind.String())
	sb.WriteByte('[')
	for i, o := range t.opts {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(o.rendered)
	}
	sb.WriteByte(']')
	t.str = sb.String()
	return t
}

func newGeneric(kind Kind, elem *Type) *Type {
	return &Type{kind: kind, elem: elem, str: kind.String() + "<" + elem.str + ">"}
}

// Equal reports whether a and b denote the same type: same kind, equal
// option sets for Enum and Flags (numbers by value, booleans distinct from
// numbers), equal element types for generics. Spelling never matters.
func Equal(a, b *Type) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case Enum, Flags:
		if len(a.keys) != len(b.keys) {
			return false
		}
		for k := range a.keys {
			if _, ok := b.keys[k]; !ok {
				return false
			}
		}
		return true
	case Sequence, Mapping:
		return Equal(a.elem, b.elem)
	}
	return true
}

// IsSubtype reports whether a is a strict subtype of b (every value of a is
// a value of b, and a ≠ b): int < float; Enum[X] < Enum[Y] and
// Flags[X] < Flags[Y] when X is a proper subset of Y; Sequence<A> <
// Sequence<B> and Mapping<A> < Mapping<B> when A < B. Nothing else is
// related.
func IsSubtype(a, b *Type) bool {
	if a == nil || b == nil {
		return false
	}
	switch {
	case a.kind == Int && b.kind == Float:
		return true
	case a.kind != b.kind:
		return false
	}
	switch a.kind {
	case Enum, Flags:
		if len(a.keys) >= len(b.keys) {
			return false
		}
		for k := range a.keys {
			if _, ok := b.keys[k]; !ok {
				return false
			}
		}
		return true
	case Sequence, Mapping:
		return IsSubtype(a.elem, b.elem)
	}
	return false
}
