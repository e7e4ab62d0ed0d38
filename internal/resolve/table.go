package resolve

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"slices"
	"strings"
	"sync/atomic"
)

// MaxFeatures is the largest number of configurable features a [Table]
// supports (masks are 64-bit).
const MaxFeatures = 64

// seed is the one hash seed of the process. It is immutable after package
// initialisation; sharing it lets a request hash its values once for all
// settings (see [Hash]).
var seed = maphash.MakeSeed()

// Hash returns the hash of a context-feature value used by [Table.Lookup].
func Hash(s string) uint64 { return maphash.String(seed, s) }

// ErrUnknownFeature is matched by the error [Build] returns for a rule that
// conditions on a feature outside the configurable features.
var ErrUnknownFeature = errors.New("resolve: rule refers to unrecognized features")

// Condition is one exact-match condition of a rule.
type Condition struct {
	Feature string
	Value   string
}

// Conflict reports a rule that replaced an earlier rule with the same
// conditions (the later rule, in input order, wins).
type Conflict struct {
	// Rule and Replaced are input indexes.
	Rule, Replaced int
	// Conditions are the shared conditions, in feature order.
	Conditions []Condition
}

// entry is one collated rule.
type entry struct {
	mask   uint64
	hash   uint64
	values []string // len n; "" where the mask bit is clear
	rule   int      // input index
}

// slot is one cell of the open-addressing table; idx is entry index + 1
// (0 marks an empty slot).
type slot struct {
	hash uint64
	idx  uint32
}

// Table is the collated rule set of one setting. The zero value is not
// usable; build one with [Build].
type Table struct {
	n       int
	full    uint64   // the mask of all n features
	masks   []uint64 // distinct masks present, best first
	entries []entry
	slots   []slot // len is a power of two, at least 2×len(entries)
	// valueSet holds combine(1<<d, hashes) of every condition (feature d,
	// value) of a large table, 0 for an empty cell: a lookup skips the
	// masks on features whose value no rule names. nil for small tables.
	valueSet []uint64
	// maskBits[d] is, for a large table, the bitmap of the indexes in
	// masks of the masks with feature d.
	maskBits [][]uint64
	// prefixes answers the missing-feature question; built on the first
	// lookup that needs it.
	prefixes atomic.Pointer[prefixIndex]
}

// Build collates rules for the configurable features (declared order). Each
// rule is given as its list of conditions, in any order; rule i's value is
// the caller's i-th value. Conditions are re-ordered to feature order.
// Rules with the same condition set replace earlier ones; each replacement
// is reported as a [Conflict].
//
// # Errors
//
// More than [MaxFeatures] features, a duplicate feature name, a condition on
// a feature not in features (matching [ErrUnknownFeature]), or two
// conditions of one rule on the same feature.
func Build(features []string, rules [][]Condition) (*Table, []Conflict, error) {
	n := len(features)
	if n > MaxFeatures {
		return nil, nil, fmt.Errorf("resolve: %d configurable features, at most %d supported", n, MaxFeatures)
	}
	for i, f := range features {
		if slices.Contains(features[:i], f) {
			return nil, nil, fmt.Errorf("resolve: duplicate configurable feature %q", f)
		}
	}
	t := &Table{n: n, full: uint64(1)<<n - 1}
	if n == MaxFeatures {
		t.full = ^uint64(0)
	}
	if len(rules) == 0 {
		return t, nil, nil
	}
	t.entries = make([]entry, 0, len(rules))
	if len(rules) > linearMax {
		t.slots = make([]slot, tableSize(len(rules)))
	}
	var conflicts []Conflict
	var hashes [MaxFeatures]uint64
	valueBuf := make([]string, n*len(rules)) // one allocation for every entry's values
	for ri, conds := range rules {
		e := entry{values: valueBuf[ri*n : (ri+1)*n : (ri+1)*n], rule: ri}
		for _, c := range conds {
			d := slices.Index(features, c.Feature)
			if d < 0 {
				return nil, nil, fmt.Errorf("%w: rule %d conditions on %q, configurable features are %v",
					ErrUnknownFeature, ri, c.Feature, features)
			}
			if e.mask&(1<<d) != 0 {
				return nil, nil, fmt.Errorf("resolve: rule %d has two conditions on %q", ri, c.Feature)
			}
			e.mask |= 1 << d
			e.values[d] = c.Value
			hashes[d] = Hash(c.Value)
		}
		e.hash = combine(e.mask, hashes[:n])
		if old, found := t.find(e.mask, e.hash, e.values); found {
			conflicts = append(conflicts, Conflict{Rule: ri, Replaced: t.entries[old].rule, Conditions: e.conditions(features)})
			t.entries[old] = e
			continue
		}
		t.entries = append(t.entries, e)
		if t.slots != nil {
			t.insert(e.hash, uint32(len(t.entries)))
		}
		if !slices.Contains(t.masks, e.mask) {
			t.masks = append(t.masks, e.mask)
		}
	}
	slices.SortFunc(t.masks, func(a, b uint64) int { return compareMasks(b, a) })
	if len(t.entries) >= valueSetMin {
		distinct := map[uint64]struct{}{} // rules share values: size the set by the distinct ones
		for i := range t.entries {
			e := &t.entries[i]
			for m := e.mask; m != 0; m &= m - 1 {
				d := bits.TrailingZeros64(m)
				hashes[d] = Hash(e.values[d])
				distinct[combine(1<<d, hashes[:n])|1] = struct{}{}
			}
		}
		t.valueSet = make([]uint64, tableSize(max(len(distinct), 1)))
		for h := range distinct {
			t.addValue(h)
		}
		words := (len(t.masks) + 63) / 64
		t.maskBits = make([][]uint64, max(n, 1))
		for d := range t.maskBits {
			t.maskBits[d] = make([]uint64, words)
		}
		for i, mask := range t.masks {
			for m := mask; m != 0; m &= m - 1 {
				t.maskBits[bits.TrailingZeros64(m)][i/64] |= 1 << (i % 64)
			}
		}
	}
	return t, conflicts, nil
}

// valueSetMin is the number of rules from which a table keeps a value set:
// below it, probing every mask costs less than the set's memory.
const valueSetMin = 64

func (t *Table) addValue(h uint64) {
	h |= 1 // 0 marks an empty cell
	m := uint64(len(t.valueSet) - 1)
	for i := h & m; ; i = (i + 1) & m {
		switch t.valueSet[i] {
		case h:
			return
		case 0:
			t.valueSet[i] = h
			return
		}
	}
}

// usable returns the features of present whose value some rule names
// (all of present for a table without a value set). A mask with another
// feature cannot match. The set keeps hashes only: a collision keeps a
// feature usable, which costs a probe, never a wrong answer.
func (t *Table) usable(present uint64, hashes []uint64) uint64 {
	if t.valueSet == nil {
		return present
	}
	sm := uint64(len(t.valueSet) - 1)
	var out uint64
	for p := present; p != 0; p &= p - 1 {
		d := bits.TrailingZeros64(p)
		h := combine(1<<d, hashes) | 1
		for i := h & sm; ; i = (i + 1) & sm {
			v := t.valueSet[i]
			if v == h {
				out |= 1 << d
				break
			}
			if v == 0 {
				break
			}
		}
	}
	return out
}

// linearMax is the largest number of rules a table scans instead of
// hashing: most settings have a handful of rules, for which comparing each
// costs less than hashing, and the hash slots would be a third of the
// table's memory.
const linearMax = 8

// tableSize is the smallest power of two at least twice n.
func tableSize(n int) int {
	return 1 << bits.Len(uint(2*n-1))
}

// compareMasks orders masks by resolution priority: the index of the last
// exact feature first, then exactness on f0, f1, … in turn.
func compareMasks(a, b uint64) int {
	if la, lb := bits.Len64(a), bits.Len64(b); la != lb {
		return la - lb
	}
	// Same last exact feature: the first differing low bit decides, and
	// the mask that has it set is greater.
	diff := a ^ b
	if diff == 0 {
		return 0
	}
	low := diff & -diff
	if a&low != 0 {
		return 1
	}
	return -1
}

// combine hashes a mask together with the value hashes of its features.
func combine(mask uint64, hashes []uint64) uint64 {
	h := mask*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019
	for m := mask; m != 0; m &= m - 1 {
		h ^= hashes[bits.TrailingZeros64(m)]
		h *= 0xff51afd7ed558ccd
		h ^= h >> 32
	}
	return h
}

func (t *Table) insert(h uint64, idx uint32) {
	m := uint64(len(t.slots) - 1)
	for i := h & m; ; i = (i + 1) & m {
		if t.slots[i].idx == 0 {
			t.slots[i] = slot{hash: h, idx: idx}
			return
		}
	}
}

// find returns the entry with this mask and these values (only the mask's
// positions of values are compared).
func (t *Table) find(mask, h uint64, values []string) (int, bool) {
	if t.slots == nil {
		for i := range t.entries {
			e := &t.entries[i]
			if e.hash == h && e.mask == mask && sameValues(mask, e.values, values) {
				return i, true
			}
		}
		return 0, false
	}
	m := uint64(len(t.slots) - 1)
	for i := h & m; ; i = (i + 1) & m {
		s := t.slots[i]
		if s.idx == 0 {
			return 0, false
		}
		if s.hash != h {
			continue
		}
		e := &t.entries[s.idx-1]
		if e.mask == mask && sameValues(mask, e.values, values) {
			return int(s.idx - 1), true
		}
	}
}

func sameValues(mask uint64, a, b []string) bool {
	for m := mask; m != 0; m &= m - 1 {
		d := bits.TrailingZeros64(m)
		if a[d] != b[d] {
			return false
		}
	}
	return true
}

func (e *entry) conditions(features []string) []Condition {
	out := make([]Condition, 0, bits.OnesCount64(e.mask))
	for m := e.mask; m != 0; m &= m - 1 {
		d := bits.TrailingZeros64(m)
		out = append(out, Condition{Feature: features[d], Value: e.values[d]})
	}
	return out
}

// Len returns the number of collated rules (after conflicts).
func (t *Table) Len() int { return len(t.entries) }

// Features returns the number of configurable features.
func (t *Table) Features() int { return t.n }

// Lookup resolves a namespace. values[d] and hashes[d] (= [Hash](values[d]))
// hold the value of feature d when bit d of present is set; other positions
// are ignored. Both slices must have length [Table.Features].
//
// It returns the input index of the winning rule, or -1 for no match; or,
// when the reference traversal would reach a feature that has no value,
// missing >= 0 is that feature's index (and rule is -1).
func (t *Table) Lookup(values []string, hashes []uint64, present uint64) (rule, missing int) {
	full := t.full
	if present&full != full {
		m := bits.TrailingZeros64(^present & full)
		if m == 0 || t.reaches(m, values, hashes) {
			return -1, m
		}
		return -1, -1
	}
	if t.slots == nil {
		// A small table: the matching rule of the greatest mask.
		best := -1
		for i := range t.entries {
			e := &t.entries[i]
			if sameValues(e.mask, e.values, values) && (best < 0 || compareMasks(e.mask, t.entries[best].mask) > 0) {
				best = i
			}
		}
		if best < 0 {
			return -1, -1
		}
		return t.entries[best].rule, -1
	}
	if t.maskBits == nil {
		for _, mask := range t.masks {
			if rule, ok := t.probe(mask, values, hashes); ok {
				return rule, -1
			}
		}
		return -1, -1
	}
	usable := t.usable(full, hashes)
	// A large table: the masks within usable, found a word of masks at a
	// time, in priority order.
	unusable := full &^ usable
	for w := range t.maskBits[0] {
		cand := ^uint64(0)
		if rest := len(t.masks) - 64*w; rest < 64 {
			cand = uint64(1)<<rest - 1
		}
		for m := unusable; m != 0 && cand != 0; m &= m - 1 {
			cand &^= t.maskBits[bits.TrailingZeros64(m)][w]
		}
		for ; cand != 0; cand &= cand - 1 {
			if rule, ok := t.probe(t.masks[64*w+bits.TrailingZeros64(cand)], values, hashes); ok {
				return rule, -1
			}
		}
	}
	return -1, -1
}

// probe looks up the rule with this mask and the namespace's values.
func (t *Table) probe(mask uint64, values []string, hashes []uint64) (int, bool) {
	sm := uint64(len(t.slots) - 1)
	h := combine(mask, hashes)
	for i := h & sm; ; i = (i + 1) & sm {
		s := t.slots[i]
		if s.idx == 0 {
			return 0, false
		}
		if s.hash != h {
			continue
		}
		e := &t.entries[s.idx-1]
		if e.mask == mask && sameValues(mask, e.values, values) {
			return e.rule, true
		}
	}
}

// reaches reports whether some rule's conditions on features 0 … m-1 all
// match values, i.e. whether the reference traversal reaches depth m. It
// probes one hash per distinct prefix mask (as the full lookup probes one
// per mask), whatever the number of rules.
//
// Any matching prefix will do, so the prefixes are tried fewest features
// first (the empty prefix, when some rule has no condition below m, needs
// no value at all), and whether a feature's value is named by some rule is
// learnt only when a prefix on it comes up: each feature costs at most one
// probe of the value set, and a namespace that a short prefix reaches costs
// one probe in all. With at most directProbes prefixes, they are probed
// without the value set.
func (t *Table) reaches(m int, values []string, hashes []uint64) bool {
	low := uint64(1)<<m - 1
	if t.valueSet == nil {
		// A small table: a scan costs less than a probe.
		for i := range t.entries {
			e := &t.entries[i]
			if sameValues(e.mask&low, e.values, values) {
				return true
			}
		}
		return false
	}
	px := t.prefixIndex()
	sm := uint64(len(px.slots) - 1)
	masks, bitsBy := px.masks[m], px.maskBits[m]
	if len(masks) <= directProbes {
		// px.probe, written out: the call costs as much as the probe.
		for _, r := range masks {
			h := combine(r, hashes)
			for i := h & sm; ; i = (i + 1) & sm {
				s := &px.slots[i]
				if s.entry == 0 {
					break
				}
				if s.hash == h && s.r == r && uint32(m) <= s.upper && sameValues(r, t.entries[s.entry-1].values, values) {
					return true
				}
			}
		}
		return false
	}
	// known: the features whose usability is learnt; unusable: those of
	// them whose value no rule names.
	var known, unusable uint64
	for w := 0; 64*w < len(masks); w++ {
		cand := ^uint64(0)
		if rest := len(masks) - 64*w; rest < 64 {
			cand = uint64(1)<<rest - 1
		}
		for u := unusable; u != 0 && cand != 0; u &= u - 1 {
			cand &^= bitsBy[bits.TrailingZeros64(u)][w]
		}
		for cand != 0 {
			r := masks[64*w+bits.TrailingZeros64(cand)]
			cand &= cand - 1
			if u := r &^ known; u != 0 {
				known |= u
				if bad := u &^ t.usable(u, hashes); bad != 0 {
					unusable |= bad
					for b := bad; b != 0; b &= b - 1 {
						cand &^= bitsBy[bits.TrailingZeros64(b)][w]
					}
					continue // r has a feature in bad
				}
			}
			if px.probe(t, r, m, sm, values, hashes) {
				return true
			}
		}
	}
	return false
}

// directProbes is the number of prefix masks up to which the
// missing-feature check probes them all rather than first asking the value
// set which features can match: at three features, a prefix probe and a
// value-set probe cost about the same.
const directProbes = 4

// probe reports whether a rule's conditions on the features of prefix r
// match values and are all its conditions below depth m.
func (px *prefixIndex) probe(t *Table, r uint64, m int, sm uint64, values []string, hashes []uint64) bool {
	h := combine(r, hashes)
	for i := h & sm; ; i = (i + 1) & sm {
		s := &px.slots[i]
		if s.entry == 0 {
			return false
		}
		if s.hash == h && s.r == r && uint32(m) <= s.upper && sameValues(r, t.entries[s.entry-1].values, values) {
			return true
		}
	}
}

// prefixIndex holds, for every rule and every depth m, the rule's
// conditions on features 0 … m-1 (its prefix r = mask & (1<<m - 1)) with
// their values, keyed like the main table by combine(r, hashes). One prefix
// serves the range of depths m where the rule's mask restricted below m is
// r: from just above r's last feature up to upper, the rule's next feature
// after r (or n).
type prefixIndex struct {
	masks [][]uint64 // by depth m: the distinct prefixes of the masks present, fewest features first
	// maskBits[m][d] is the bitmap of the indexes in masks[m] of the
	// prefixes with feature d.
	maskBits [][][]uint64
	// slots is an open-addressing table of the distinct prefixes with
	// their values; a probe reads one slot and the entry's values.
	slots []prefixSlot
}

type prefixSlot struct {
	hash  uint64 // combine(r, the entry's value hashes)
	r     uint64 // the prefix mask
	entry uint32 // index + 1 of an entry with these values on r; 0 for an empty slot
	upper uint32 // the largest depth this prefix (of any such entry) serves
}

// prefixIndex returns the table's prefix index, building it on first use.
// Concurrent first uses may each build one; they are equal and one is kept.
func (t *Table) prefixIndex() *prefixIndex {
	if px := t.prefixes.Load(); px != nil {
		return px
	}
	return t.buildPrefixIndex()
}

func (t *Table) buildPrefixIndex() *prefixIndex {
	byHash := make(map[uint64][]int, 2*len(t.entries)) // indexes in keys, while building
	var keys []prefixSlot
	px := &prefixIndex{masks: make([][]uint64, t.n+1)}
	var hashes [MaxFeatures]uint64
	for i := range t.entries {
		e := &t.entries[i]
		for m := e.mask; m != 0; m &= m - 1 {
			d := bits.TrailingZeros64(m)
			hashes[d] = Hash(e.values[d])
		}
		var r uint64
		for rest := e.mask; ; {
			upper := t.n
			if rest != 0 {
				upper = bits.TrailingZeros64(rest)
			}
			keys = addPrefix(t, keys, byHash, r, combine(r, hashes[:]), i, upper)
			if rest == 0 {
				break
			}
			low := rest & -rest
			r, rest = r|low, rest&^low
		}
	}
	px.slots = make([]prefixSlot, tableSize(max(len(keys), 1)))
	sm := uint64(len(px.slots) - 1)
	for _, k := range keys {
		i := k.hash & sm
		for px.slots[i].entry != 0 {
			i = (i + 1) & sm
		}
		px.slots[i] = k
	}
	px.maskBits = make([][][]uint64, t.n+1)
	for m := 1; m <= t.n; m++ {
		low := uint64(1)<<m - 1
		for _, mask := range t.masks {
			if r := mask & low; !slices.Contains(px.masks[m], r) {
				px.masks[m] = append(px.masks[m], r)
			}
		}
		// Fewest features first (see reaches): the cheapest to check and
		// the likeliest to match.
		slices.SortStableFunc(px.masks[m], func(a, b uint64) int {
			return bits.OnesCount64(a) - bits.OnesCount64(b)
		})
		words := (len(px.masks[m]) + 63) / 64
		px.maskBits[m] = make([][]uint64, m)
		for d := range m {
			px.maskBits[m][d] = make([]uint64, words)
		}
		for i, r := range px.masks[m] {
			for b := r; b != 0; b &= b - 1 {
				px.maskBits[m][bits.TrailingZeros64(b)][i/64] |= 1 << (i % 64)
			}
		}
	}
	t.prefixes.CompareAndSwap(nil, px)
	return t.prefixes.Load()
}

// addPrefix adds prefix r of entry (hashed h) to keys, or raises the
// upper depth of the key that has the same prefix and values.
func addPrefix(t *Table, keys []prefixSlot, byHash map[uint64][]int, r, h uint64, entry, upper int) []prefixSlot {
	for _, j := range byHash[h] {
		k := &keys[j]
		if k.r == r && sameValues(r, t.entries[k.entry-1].values, t.entries[entry].values) {
			k.upper = max(k.upper, uint32(upper))
			return keys
		}
	}
	byHash[h] = append(byHash[h], len(keys))
	return append(keys, prefixSlot{hash: h, r: r, entry: uint32(entry + 1), upper: uint32(upper)})
}

// Tree renders the collated rules as the reference's nested tree, for tests
// and debugging: `{key:child,…}` with keys sorted and `*` for the wildcard,
// and each leaf as label(rule input index). With no features the result is
// the single leaf, or `{}` when there are no rules.
func (t *Table) Tree(label func(rule int) string) string {
	type node struct {
		kids map[string]*node
		leaf int
	}
	root := &node{kids: map[string]*node{}}
	for _, e := range t.entries {
		cur := root
		for d := 0; d < t.n; d++ {
			k := "*"
			if e.mask&(1<<d) != 0 {
				k = e.values[d]
			}
			nx := cur.kids[k]
			if nx == nil {
				nx = &node{kids: map[string]*node{}}
				cur.kids[k] = nx
			}
			cur = nx
		}
		cur.leaf = e.rule
	}
	if t.n == 0 {
		if len(t.entries) == 0 {
			return "{}"
		}
		return label(t.entries[0].rule)
	}
	var b strings.Builder
	var walk func(nd *node, d int)
	walk = func(nd *node, d int) {
		if d == t.n {
			b.WriteString(label(nd.leaf))
			return
		}
		keys := make([]string, 0, len(nd.kids))
		for k := range nd.kids {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(k)
			b.WriteByte(':')
			walk(nd.kids[k], d+1)
		}
		b.WriteByte('}')
	}
	walk(root, 0)
	return b.String()
}
