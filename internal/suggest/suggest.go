// Package suggest ranks valid names by how close they are to a misspelt
// one, for error messages that say "did you mean …?": a host function a
// wasm module imports, a Heksher type in a declaration.
package suggest

import (
	"slices"
	"strings"
)

// maxCompared bounds the part of a word that is compared: a name longer
// than this is a mistake of another kind, and the distance's cost grows
// with the product of the lengths.
const maxCompared = 64

// Distance is the Levenshtein distance between a and b (insertions,
// deletions and substitutions of bytes, each costing 1), with a swap of two
// adjacent bytes also costing 1 (so "lookpu" is 1 from "lookup"). Only the
// first 64 bytes of each are compared; the rest counts one per byte.
func Distance(a, b string) int {
	extra := 0
	if len(a) > maxCompared {
		extra += len(a) - maxCompared
		a = a[:maxCompared]
	}
	if len(b) > maxCompared {
		extra += len(b) - maxCompared
		b = b[:maxCompared]
	}
	// Three rows of the optimal-string-alignment matrix.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)] + extra
}

// Rank returns valid ordered closest to word first (by [Distance], ties
// in the order given). Case is ignored in the comparison.
func Rank(word string, valid []string) []string {
	type scored struct {
		name string
		d    int
	}
	lw := strings.ToLower(word)
	s := make([]scored, len(valid))
	for i, v := range valid {
		s[i] = scored{v, Distance(lw, strings.ToLower(v))}
	}
	slices.SortStableFunc(s, func(x, y scored) int { return x.d - y.d })
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = x.name
	}
	return out
}

// Close reports whether candidate is close enough to word to be offered as
// what was meant: within a third of the longer one's length (at least 1,
// at most 3 edits), ignoring case.
func Close(word, candidate string) bool {
	limit := min(max(max(len(word), len(candidate))/3, 1), 3)
	return Distance(strings.ToLower(word), strings.ToLower(candidate)) <= limit
}

// Hint says, for a word that is not one of valid, which one was probably
// meant and which are valid, closest first: "did you mean lookup? valid:
// lookup, declare, log". Without a close candidate it only lists them:
// "valid: …". At most max names are listed (all when max <= 0), with "…"
// for the rest.
func Hint(word string, valid []string, max int) string {
	if len(valid) == 0 {
		return ""
	}
	ranked := Rank(word, valid)
	var b strings.Builder
	if Close(word, ranked[0]) {
		b.WriteString("did you mean ")
		b.WriteString(ranked[0])
		b.WriteString("? ")
	}
	b.WriteString("valid: ")
	n := len(ranked)
	if max > 0 && n > max {
		n = max
	}
	b.WriteString(strings.Join(ranked[:n], ", "))
	if n < len(ranked) {
		b.WriteString(", …")
	}
	return b.String()
}
