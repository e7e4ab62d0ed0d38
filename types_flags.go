package heksher

import (
	"slices"
	"strings"

	"github.com/heksher-go/heksher/internal/htype"
)

// FlagSet is a value of a [Flags] type: a set of flag names. It is an
// immutable value, safe to share and to compare with [FlagSet.Equal]; the
// zero FlagSet is the empty set.
type FlagSet struct {
	names []string // sorted, distinct
}

// NewFlagSet returns the set holding names (duplicates collapse).
func NewFlagSet(names ...string) FlagSet {
	if len(names) == 0 {
		return FlagSet{}
	}
	s := slices.Clone(names)
	slices.Sort(s)
	return FlagSet{names: slices.Compact(s)}
}

// Has reports whether name is in f.
func (f FlagSet) Has(name string) bool {
	_, ok := slices.BinarySearch(f.names, name)
	return ok
}

// With returns f plus names; f is unchanged.
func (f FlagSet) With(names ...string) FlagSet {
	return NewFlagSet(append(slices.Clone(f.names), names...)...)
}

// Without returns f minus names; f is unchanged.
func (f FlagSet) Without(names ...string) FlagSet {
	out := make([]string, 0, len(f.names))
	for _, n := range f.names {
		if !slices.Contains(names, n) {
			out = append(out, n)
		}
	}
	return FlagSet{names: out}
}

// Names returns the names in f, sorted, as a new slice.
func (f FlagSet) Names() []string { return slices.Clone(f.names) }

// Len returns the number of names in f.
func (f FlagSet) Len() int { return len(f.names) }

// Equal reports whether f and g hold the same names.
func (f FlagSet) Equal(g FlagSet) bool { return slices.Equal(f.names, g.names) }

// String returns the names joined by "|", e.g. "blue|green"; "" when empty.
func (f FlagSet) String() string { return strings.Join(f.names, "|") }

// MarshalJSON encodes f as a JSON array of its names, sorted (for logs and
// APIs; the wire form of a setting's value is [Type.ToWire]'s, in member
// order).
func (f FlagSet) MarshalJSON() ([]byte, error) {
	dst := []byte{'['}
	for i, n := range f.names {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = htype.StringValue(n).AppendJSON(dst)
	}
	return append(dst, ']'), nil
}

// Flags returns the type `Flags[…]` over the given member names. Its wire
// value is an array of names; the type string lists the names JSON-encoded
// and sorted as strings (`Flags["a","b"]`); a value is sent with its names in
// the order given here.
//
// From the server, an unknown name is dropped with a coercion ("server sent
// a flag value not found in the python type (<name>)", the reference's
// words); a non-string element or a non-array rejects the value.
//
// # Errors
//
// Reported by [Type.Err] and [NewSetting]: a name listed twice.
func Flags(names ...string) Type[FlagSet] {
	c := &flagsConv{order: slices.Clone(names), known: make(map[string]struct{}, len(names))}
	rendered := make([]string, 0, len(names))
	for _, n := range names {
		if _, dup := c.known[n]; dup {
			return Type[FlagSet]{err: invalid("Flags name %q listed twice", n), conv: c}
		}
		c.known[n] = struct{}{}
		rendered = append(rendered, string(htype.StringValue(n).AppendJSON(nil)))
	}
	return Type[FlagSet]{str: optionString("Flags", rendered), conv: c}
}

type flagsConv struct {
	order []string
	known map[string]struct{}
}

func (c *flagsConv) fromWire(v htype.Value) (FlagSet, []string, error) {
	if v.Kind() != htype.Array {
		return FlagSet{}, nil, reject("expected array of flag names, got %s", describeValue(v))
	}
	items := v.Items()
	names := make([]string, 0, len(items))
	var coercions []string
	for _, it := range items {
		if it.Kind() != htype.String {
			return FlagSet{}, nil, reject("expected string in flags, got %s", describeValue(it))
		}
		if _, ok := c.known[it.Str()]; !ok {
			coercions = append(coercions, "server sent a flag value not found in the python type ("+it.Str()+")")
			continue
		}
		names = append(names, it.Str())
	}
	return NewFlagSet(names...), coercions, nil
}

func (c *flagsConv) toWire(dst []byte, v FlagSet) ([]byte, error) {
	for _, n := range v.names {
		if _, ok := c.known[n]; !ok {
			return dst, invalid("flag %q is not a member of the Flags type", n)
		}
	}
	dst = append(dst, '[')
	first := true
	for _, n := range c.order {
		if !v.Has(n) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = htype.StringValue(n).AppendJSON(dst)
	}
	return append(dst, ']'), nil
}
