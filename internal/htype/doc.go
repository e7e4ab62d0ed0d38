// Package htype implements Heksher setting types and the JSON conventions
// the Heksher server uses around them.
//
// # Types
//
// A Heksher type is written as a string: the primitives int, float, str and
// bool; Enum[...] and Flags[...] over a JSON array of primitive options; and
// the generics Sequence<T> and Mapping<T>. [Parse] reads such a string with
// the same leniency as the reference server (whitespace after a keyword,
// inside the option array and around a generic's parameter), and
// [Type.String] renders the normalised form the server stores and returns:
//
//	t, err := htype.Parse(`Enum [ "red", "blue" ]`)
//	// t.String() == `Enum["blue","red"]`
//
// [Type.Validate] tells whether a JSON value belongs to the type, [Equal]
// compares types semantically and [IsSubtype] implements the strict subtype
// order used when a setting is upgraded.
//
// # JSON values
//
// [Value] is a parsed JSON document that keeps what the server keeps: the
// order of object keys and whether a number was written as an integer or a
// float. [ParseValue] reads one and [Value.AppendJSON] renders it compactly
// the way the server's responses do. [AppendJSON] renders ordinary Go values
// in the same style: no insignificant whitespace, non-ASCII kept as UTF-8, no
// HTML escaping, and floats in their shortest round-trip form that keeps a
// ".0" on integral values and switches to exponent form ("1e20", "1e-7")
// outside the range 1e-5 <= |x| < 1e16.
//
// # Concurrency
//
// A *Type and a Value are immutable once built and safe for concurrent use.
package htype
