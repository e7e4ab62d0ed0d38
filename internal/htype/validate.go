package htype

import (
	"encoding/json"
	"fmt"
)

// Validate reports whether raw, a JSON document, is a value of t as the
// reference server judges it (null is never valid; int accepts whole floats
// such as 3.0 but not booleans; Flags rejects repeated members, where, as in
// the reference, true repeats 1 and false repeats 0).
//
// # Errors
//
// A *[SyntaxError] when raw is not JSON; an error matching
// [ErrInvalidValue] when it is JSON but not a value of t.
func (t *Type) Validate(raw json.RawMessage) error {
	v, err := ParseValue(raw)
	if err != nil {
		return err
	}
	if !t.Accepts(v) {
		return fmt.Errorf("%w: %s is not a %s", ErrInvalidValue, v.AppendJSON(nil), t.str)
	}
	return nil
}

// Accepts reports whether v is a value of t (see [Type.Validate]).
func (t *Type) Accepts(v Value) bool {
	switch t.kind {
	case Int:
		return v.kind == Number && v.isIntegral()
	case Float:
		return v.kind == Number
	case Str:
		return v.kind == String
	case Bool:
		return v.kind == Boolean
	case Enum:
		return t.hasOption(v)
	case Flags:
		if v.kind != Array {
			return false
		}
		seen := make(map[string]struct{}, len(v.items))
		for _, it := range v.items {
			k, ok := pyNum(it)
			if !ok {
				if it.kind != String {
					return false // null, arrays and objects are never members
				}
				k = "s" + it.s
			}
			if _, dup := seen[k]; dup {
				return false
			}
			seen[k] = struct{}{}
			if !t.hasOption(it) {
				return false
			}
		}
		return true
	case Sequence:
		if v.kind != Array {
			return false
		}
		for _, it := range v.items {
			if !t.elem.Accepts(it) {
				return false
			}
		}
		return true
	case Mapping:
		if v.kind != Object {
			return false
		}
		for _, m := range v.members {
			if !t.elem.Accepts(m.Value) {
				return false
			}
		}
		return true
	}
	return false
}

func (t *Type) hasOption(v Value) bool {
	switch v.kind {
	case Boolean, Number, String:
		_, ok := t.keys[v.primKey()]
		return ok
	}
	return false
}
