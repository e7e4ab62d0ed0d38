package abi

import "encoding/binary"

// Reader decodes the primitives of the encoding from a byte slice. A read past
// the end, or a length running past it, sets a sticky failure: every later
// read returns zero values and [Reader.Err] reports [ErrMalformed]. Slices it
// returns alias the input. The zero Reader is empty.
type Reader struct {
	b   []byte
	off int
	bad bool
}

// NewReader returns a Reader over b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Err returns [ErrMalformed] if any read failed, else nil.
func (r *Reader) Err() error {
	if r.bad {
		return ErrMalformed
	}
	return nil
}

// Len returns the number of unread bytes.
func (r *Reader) Len() int { return len(r.b) - r.off }

// Rest returns the unread bytes.
func (r *Reader) Rest() []byte { return r.b[r.off:] }

// The readers below are written to be inlined (they are the whole cost of
// decoding in a wasm guest, where a call is expensive): on a short input they
// mark the Reader bad and return zero without moving.

// U8 reads one byte.
func (r *Reader) U8() uint8 {
	o := r.off
	if o >= len(r.b) {
		r.bad = true
		return 0
	}
	r.off = o + 1
	return r.b[o]
}

// Bool reads a byte that must be 0 or 1.
func (r *Reader) Bool() bool {
	v := r.U8()
	if v > 1 {
		r.bad = true
	}
	return v == 1
}

// U16 reads a little-endian uint16.
func (r *Reader) U16() uint16 {
	o := r.off
	if len(r.b)-o < 2 {
		r.bad = true
		return 0
	}
	r.off = o + 2
	return binary.LittleEndian.Uint16(r.b[o:])
}

// U32 reads a little-endian uint32.
func (r *Reader) U32() uint32 {
	o := r.off
	if len(r.b)-o < 4 {
		r.bad = true
		return 0
	}
	r.off = o + 4
	return binary.LittleEndian.Uint32(r.b[o:])
}

// U64 reads a little-endian uint64.
func (r *Reader) U64() uint64 {
	lo := r.U32()
	return uint64(r.U32())<<32 | uint64(lo)
}

// I64 reads a little-endian two's-complement int64.
func (r *Reader) I64() int64 { return int64(r.U64()) }

// Str reads a str (u32 length, then that many bytes) and returns its bytes.
func (r *Reader) Str() []byte {
	n := int(r.U32()) // int is 64-bit on every platform we build for
	o := r.off
	if n > len(r.b)-o {
		r.bad = true
		return nil
	}
	r.off = o + n
	return r.b[o : o+n : o+n]
}

// skipStr skips one str.
func (r *Reader) skipStr() {
	n := int(r.U32())
	if n > len(r.b)-r.off {
		r.bad = true
		return
	}
	r.off += n
}

// skipStrs skips n strs.
func (r *Reader) skipStrs(n int) {
	for i := 0; i < n && !r.bad; i++ {
		r.skipStr()
	}
}
