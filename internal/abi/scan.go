package abi

import "encoding/binary"

// The scanners below check the structure of a setting-changed body with as
// few taken branches as possible. A Go wasm guest compiles every taken
// jump between basic blocks into a branch back to one loop at the top of
// the function, and a host that can preempt its guests checks for
// preemption at every loop header: each taken branch costs a check. So
// the code keeps offsets in local variables, clamps them to the body with
// arithmetic and ORs failures into a flag, and only its loops branch.

// Offsets and lengths are int64 so that a u32 length added to an offset
// cannot overflow where int is 32 bits; every offset used to slice has been
// clamped to the body first.

// upTo returns o, or hi if o is greater.
func upTo(o, hi int64) int64 {
	// Arithmetic rather than a conditional: the result is used as an
	// address, which the compiler never computes with a conditional move.
	return o - (o-hi)*past(o, hi)
}

// past returns 1 if o is greater than hi, else 0. The compiler turns this
// shape into a comparison whose result is used as a number, with no branch.
func past(o, hi int64) int64 {
	var r int64
	if o > hi {
		r = 1
	}
	return r
}

// scanStr returns the offset after the str at o, or -1.
func scanStr(b []byte, o int) int {
	if o < 0 || len(b)-o < 4 {
		return -1
	}
	n := binary.LittleEndian.Uint32(b[o:])
	o += 4
	if uint64(n) > uint64(len(b)-o) {
		return -1
	}
	return o + int(n)
}

// minRuleSet is the size of the smallest ruleset: two flags, an empty
// default and no rules.
const minRuleSet = 2 + 4 + 4

// scanRuleSet reads the ruleset at o, 0 <= o <= len(b), in a body of at
// least 4 bytes:
//
//	ruleset := u8 retrieved | u8 has_default | str default_json | u32 n | n × rule
//	rule    := i64 rule_id | u32 c | c × (str, str) | str value_json
//
// It returns the offset after it, and bad = 1 if the ruleset does not fit
// the body or is malformed (then the other results are meaningless but in
// range).
func scanRuleSet(b []byte, o int64) (rs RuleSet, end, bad int64) {
	l := int64(len(b))
	i := upTo(o, l-2)
	bad = past(o, l-2) | past(int64(b[i]), 1) | past(int64(b[i+1]), 1)
	rs.Retrieved, rs.HasDefault = b[i] == 1, b[i+1] == 1
	o = upTo(o+2, l)

	n := u32At(b, upTo(o, l-4))
	bad |= past(o, l-4)
	o = upTo(o+4, l)
	start := o
	bad |= past(o+n, l)
	o = upTo(o+n, l)
	rs.Default = b[start:o:o]

	// The rule count, at most what the rest could hold (16 bytes a rule).
	rules := u32At(b, upTo(o, l-4))
	bad |= past(o, l-4)
	o = upTo(o+4, l)
	bad |= past(rules, (l-o)/16)
	rules = upTo(rules, (l-o)/16)
	start = o
	for range rules {
		o = upTo(o+8, l) // rule id
		conds := u32At(b, upTo(o, l-4))
		bad |= past(o, l-4)
		o = upTo(o+4, l)
		bad |= past(conds, (l-o)/8)
		conds = upTo(conds, (l-o)/8)
		for range 2*conds + 1 { // names and values, then the rule's value
			n := u32At(b, upTo(o, l-4))
			bad |= past(o, l-4)
			bad |= past(o+4+n, l)
			o = upTo(o+4+n, l)
		}
	}
	rs.Rules = Rules{n: int(rules), body: b[start:o:o]}
	return rs, o, bad
}

// u32At reads the u32 at b[i:].
func u32At(b []byte, i int64) int64 { return int64(binary.LittleEndian.Uint32(b[i:])) }
