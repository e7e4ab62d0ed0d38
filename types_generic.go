package heksher

import (
	"slices"
	"strconv"

	"github.com/heksher-go/heksher/internal/htype"
)

// Sequence returns the type `Sequence<X>` for an element type X: a JSON
// array, as a slice. From the server, an element that X rejects is dropped
// with the coercion "failed to convert element <i>: <reason>" (i is the
// 0-based position in the server's array), and an element's own coercions
// are kept with the prefix "element <i>: "; a non-array is rejected.
//
// An error of the element type is carried over (see [Type.Err]).
func Sequence[T any](elem Type[T]) Type[[]T] {
	t := Type[[]T]{str: "Sequence<" + elem.str + ">", err: elem.Err(), conv: seqConv[T]{elem: elem.conv}}
	return t
}

type seqConv[T any] struct{ elem converter[T] }

func (c seqConv[T]) fromWire(v htype.Value) ([]T, []string, error) {
	if v.Kind() != htype.Array {
		return nil, nil, reject("expected array, got %s", describeValue(v))
	}
	items := v.Items()
	out := make([]T, 0, len(items))
	var coercions []string
	for i, it := range items {
		e, cs, err := c.elem.fromWire(it)
		if err != nil {
			coercions = append(coercions, "failed to convert element "+strconv.Itoa(i)+": "+reasonOf(err))
			continue
		}
		for _, m := range cs {
			coercions = append(coercions, "element "+strconv.Itoa(i)+": "+m)
		}
		out = append(out, e)
	}
	return out, coercions, nil
}

func (c seqConv[T]) toWire(dst []byte, v []T) ([]byte, error) {
	dst = append(dst, '[')
	for i, e := range v {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = c.elem.toWire(dst, e); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// Mapping returns the type `Mapping<X>` for a value type X: a JSON object
// with string keys, as a map. From the server, a value that X rejects is
// dropped with its key and the coercion "failed to convert value for key
// <k>: <reason>"; a value's own coercions are kept with the prefix "<k>: ";
// a non-object is rejected.
//
// An error of the value type is carried over (see [Type.Err]).
func Mapping[T any](elem Type[T]) Type[map[string]T] {
	return Type[map[string]T]{str: "Mapping<" + elem.str + ">", err: elem.Err(), conv: mapConv[T]{elem: elem.conv}}
}

type mapConv[T any] struct{ elem converter[T] }

func (c mapConv[T]) fromWire(v htype.Value) (map[string]T, []string, error) {
	if v.Kind() != htype.Object {
		return nil, nil, reject("expected object, got %s", describeValue(v))
	}
	members := v.Members()
	out := make(map[string]T, len(members))
	var coercions []string
	for _, m := range members {
		e, cs, err := c.elem.fromWire(m.Value)
		if err != nil {
			coercions = append(coercions, "failed to convert value for key "+m.Key+": "+reasonOf(err))
			continue
		}
		for _, s := range cs {
			coercions = append(coercions, m.Key+": "+s)
		}
		out[m.Key] = e
	}
	return out, coercions, nil
}

// toWire writes the keys sorted, so the declared default is stable.
func (c mapConv[T]) toWire(dst []byte, v map[string]T) ([]byte, error) {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = htype.StringValue(k).AppendJSON(dst)
		dst = append(dst, ':')
		var err error
		if dst, err = c.elem.toWire(dst, v[k]); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}
