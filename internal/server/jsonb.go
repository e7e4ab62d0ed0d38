package server

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/heksher-go/heksher/internal/htype"
)

// The reference keeps setting and rule metadata in PostgreSQL, one row per
// key with the value in a JSONB column, and reads the rows back without an
// ORDER BY. Two things follow that clients can see, and the engine
// reproduces both:
//
//   - a value goes through JSONB: objects inside it come back with their
//     keys sorted the JSONB way (shorter keys first, then by bytes), and a
//     float that Python writes in exponent form with a positive exponent
//     (abs >= 1e16) comes back as an integer, because JSONB stores it as an
//     exact numeric; -0.0 comes back as 0.0;
//   - the keys come back in row order: a new key goes last, and a key that
//     is written again (an upsert writes a new row version) moves last too.

// jsonbMembers returns metadata members as the reference reads them back.
func jsonbMembers(ms []htype.Member) []htype.Member {
	if ms == nil {
		return nil
	}
	out := make([]htype.Member, len(ms))
	for i, mem := range ms {
		out[i] = htype.Member{Key: mem.Key, Value: jsonbValue(mem.Value)}
	}
	return out
}

// jsonbValue returns v as it comes back from a JSONB column.
func jsonbValue(v htype.Value) htype.Value {
	switch v.Kind() {
	case htype.Number:
		if v.IsFloat() {
			return jsonbFloat(v)
		}
	case htype.Array:
		items := make([]htype.Value, len(v.Items()))
		for i, it := range v.Items() {
			items[i] = jsonbValue(it)
		}
		return htype.ArrayValue(items)
	case htype.Object:
		ms := jsonbMembers(v.Members())
		slices.SortStableFunc(ms, func(a, b htype.Member) int {
			if c := cmp.Compare(len(a.Key), len(b.Key)); c != 0 {
				return c
			}
			return strings.Compare(a.Key, b.Key)
		})
		return htype.ObjectValue(ms)
	}
	return v
}

// jsonbFloat maps a float through Python's repr and a JSONB numeric.
func jsonbFloat(v htype.Value) htype.Value {
	f := v.Float()
	if f == 0 {
		return htype.FloatValue(0) // numeric has no negative zero
	}
	if math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) < 1e16 {
		return v
	}
	// Python's repr is the shortest round-trip digits; JSONB keeps exactly
	// those digits as an integer.
	digits, exp := shortestDigits(math.Abs(f))
	lit := digits + strings.Repeat("0", exp-len(digits))
	if f < 0 {
		lit = "-" + lit
	}
	iv, err := htype.ParseValue([]byte(lit))
	if err != nil {
		return v
	}
	return iv
}

// shortestDigits returns the shortest round-trip decimal digits of f > 0
// and the position of the decimal point after the first digit's place:
// f = 0.DIGITS × 10^exp.
func shortestDigits(f float64) (string, int) {
	s := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, e, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(e)
	return strings.Replace(mant, ".", "", 1), exp + 1
}
