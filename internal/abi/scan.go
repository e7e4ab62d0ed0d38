package abi

import "encoding/binary"

// The scanners below check the structure of a setting-changed body in one
// function with a plain offset, calling nothing that is not inlined. In a Go
// wasm guest every call is expensive (and more so when the host preempts
// long calls, which adds a check to every function entry), so this is what
// keeps decoding a typical event around a microsecond there.

// scanStr returns the offset after the str at o, or -1.
func scanStr(b []byte, o int) int {
	if o < 0 || len(b)-o < 4 {
		return -1
	}
	n := int(binary.LittleEndian.Uint32(b[o:]))
	o += 4
	if n > len(b)-o {
		return -1
	}
	return o + n
}

// scanRuleSet returns the rules of the ruleset at o and the offset after it,
// or end -1.
func scanRuleSet(b []byte, o int) (rs RuleSet, end int) {
	if len(b)-o < 2 || b[o] > 1 || b[o+1] > 1 {
		return RuleSet{}, -1
	}
	rs.Retrieved, rs.HasDefault = b[o] == 1, b[o+1] == 1
	o += 2
	d := scanStr(b, o)
	if d < 0 {
		return RuleSet{}, -1
	}
	rs.Default = b[o+4 : d : d]
	o = d
	if len(b)-o < 4 {
		return RuleSet{}, -1
	}
	n := int(binary.LittleEndian.Uint32(b[o:]))
	o += 4
	start := o
	if n > len(b)-o {
		return RuleSet{}, -1
	}
	for range n {
		o += 8 // rule id
		if o > len(b)-4 {
			return RuleSet{}, -1
		}
		conds := int(binary.LittleEndian.Uint32(b[o:]))
		o += 4
		if conds > len(b)-o {
			return RuleSet{}, -1
		}
		for range 2*conds + 1 { // names and values, then the rule's value
			if o = scanStr(b, o); o < 0 {
				return RuleSet{}, -1
			}
		}
	}
	rs.Rules = Rules{n: n, body: b[start:o:o]}
	return rs, o
}
