package abi

// Strs is a decoded list of strs (u32 n, then n strs). The zero Strs is empty.
type Strs struct {
	n    int
	body []byte
}

// Len returns the number of items.
func (s Strs) Len() int { return s.n }

// Iter returns an iterator over the items.
func (s Strs) Iter() StrsIter { return StrsIter{b: s.body, left: s.n} }

// StrsIter walks a [Strs].
type StrsIter struct {
	b    []byte
	o    int
	left int
}

// Next returns the next item; ok is false at the end.
func (it *StrsIter) Next() (item []byte, ok bool) {
	if it.left <= 0 {
		return nil, false
	}
	it.left--
	e := scanStr(it.b, it.o)
	if e < 0 {
		it.left = 0
		return nil, false
	}
	item = it.b[it.o+4 : e : e]
	it.o = e
	return item, true
}

// readStrs reads a list of strs, validating every item.
func readStrs(r *Reader) Strs {
	n := r.U32()
	start := r.off
	if uint64(n)*4 > uint64(r.Len()) {
		r.bad = true
		return Strs{}
	}
	r.skipStrs(int(n))
	if r.bad {
		return Strs{}
	}
	return Strs{n: int(n), body: r.b[start:r.off]}
}

// Pairs is a decoded list of (name, value) pairs (u32 n, then n × (str name,
// str value)): a lookup context, or a rule's conditions. The zero Pairs is
// empty.
type Pairs struct {
	n    int
	body []byte
}

// Len returns the number of pairs.
func (p Pairs) Len() int { return p.n }

// Iter returns an iterator over the pairs.
func (p Pairs) Iter() PairsIter { return PairsIter{b: p.body, left: p.n} }

// PairsIter walks a [Pairs].
type PairsIter struct {
	b    []byte
	o    int64
	left int
}

// Next returns the next pair; ok is false at the end. Like
// [RuleIter.Next], it trusts the decoder's check and only clamps offsets.
func (it *PairsIter) Next() (name, value []byte, ok bool) {
	if it.left <= 0 || len(it.b) < 8 {
		return nil, nil, false
	}
	it.left--
	b, o := it.b, it.o
	l := int64(len(b))
	s1 := upTo(o+4, l)
	e1 := upTo(s1+u32At(b, upTo(o, l-4)), l)
	s2 := upTo(e1+4, l)
	e2 := upTo(s2+u32At(b, upTo(e1, l-4)), l)
	it.o = e2
	return b[s1:e1:e1], b[s2:e2:e2], true
}

func readPairs(r *Reader) Pairs {
	n := r.U32()
	start := r.off
	if uint64(n)*8 > uint64(r.Len()) {
		r.bad = true
		return Pairs{}
	}
	r.skipStrs(2 * int(n))
	if r.bad {
		return Pairs{}
	}
	return Pairs{n: int(n), body: r.b[start:r.off]}
}

// DecodeContext decodes a lookup context. An empty payload is the empty
// context. The payload must hold exactly one context.
func DecodeContext(b []byte) (Pairs, error) {
	if len(b) == 0 {
		return Pairs{}, nil
	}
	r := NewReader(b)
	p := readPairs(&r)
	if r.bad || r.Len() != 0 {
		return Pairs{}, ErrMalformed
	}
	return p, nil
}

// AppendPairsHeader appends the count of a pairs list; the caller then
// appends n × (AppendStr name, AppendStr value).
func AppendPairsHeader(b []byte, n int) []byte { return AppendU32(b, uint32(n)) }

// AppendContext appends a context of the given name/value pairs: kv holds
// name, value, name, value, …; an odd trailing name is ignored.
func AppendContext(b []byte, kv ...string) []byte {
	n := len(kv) / 2
	b = AppendU32(b, uint32(n))
	for i := 0; i < n; i++ {
		b = AppendStr(b, kv[2*i])
		b = AppendStr(b, kv[2*i+1])
	}
	return b
}
