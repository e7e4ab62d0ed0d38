package abi

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/heksher-go/heksher/event"
)

// refRuleSet is a plain reading of a ruleset with Reader, kept as the
// reference that the branch-light scanner must agree with.
func refRuleSet(r *Reader) (rs RuleSet, rules [][]byte) {
	rs.Retrieved = r.Bool()
	rs.HasDefault = r.Bool()
	rs.Default = r.Str()
	n := r.U32()
	if uint64(n) > uint64(r.Len()) {
		r.bad = true
		return
	}
	for range n {
		id := r.I64()
		conds := r.U32()
		if uint64(conds) > uint64(r.Len()) {
			r.bad = true
			return
		}
		var desc bytes.Buffer
		fmt.Fprintf(&desc, "%d", id)
		for range conds {
			fmt.Fprintf(&desc, " %q=%q", r.Str(), r.Str())
		}
		fmt.Fprintf(&desc, " -> %q", r.Str())
		if r.bad {
			return
		}
		rules = append(rules, desc.Bytes())
	}
	return
}

// describe renders rs's rules as refRuleSet does, through the iterators.
func describe(rs RuleSet) [][]byte {
	var out [][]byte
	it := rs.Rules.Iter()
	for r, ok := it.Next(); ok; r, ok = it.Next() {
		var desc bytes.Buffer
		fmt.Fprintf(&desc, "%d", r.ID)
		pit := r.Conditions.Iter()
		for k, v, ok := pit.Next(); ok; k, v, ok = pit.Next() {
			fmt.Fprintf(&desc, " %q=%q", k, v)
		}
		fmt.Fprintf(&desc, " -> %q", r.Value)
		out = append(out, desc.Bytes())
	}
	return out
}

// checkAgainstReference decodes body with DecodeSettingChanged and with the
// reference reading, and fails if they disagree on acceptance or content.
func checkAgainstReference(t *testing.T, body []byte) {
	t.Helper()
	r := NewReader(body)
	setting := r.Str()
	oldRS, oldRules := refRuleSet(&r)
	newRS, newRules := refRuleSet(&r)
	wantOK := !r.bad && r.Len() == 0

	s, err := DecodeSettingChanged(body)
	if (err == nil) != wantOK {
		t.Fatalf("DecodeSettingChanged(%x): err = %v, the reference accepts it: %v", body, err, wantOK)
	}
	if err != nil {
		return
	}
	if !bytes.Equal(s.Setting, setting) {
		t.Fatalf("setting %q, want %q", s.Setting, setting)
	}
	for _, c := range []struct {
		name      string
		got, want RuleSet
		wantRules [][]byte
	}{{"old", s.Old, oldRS, oldRules}, {"new", s.New, newRS, newRules}} {
		if c.got.Retrieved != c.want.Retrieved || c.got.HasDefault != c.want.HasDefault || !bytes.Equal(c.got.Default, c.want.Default) {
			t.Fatalf("%s ruleset %+v, want %+v", c.name, c.got, c.want)
		}
		if c.got.Rules.Len() != len(c.wantRules) {
			t.Fatalf("%s: %d rules, want %d", c.name, c.got.Rules.Len(), len(c.wantRules))
		}
		if got := describe(c.got); fmt.Sprint(got) != fmt.Sprint(c.wantRules) {
			t.Fatalf("%s rules %q, want %q", c.name, got, c.wantRules)
		}
	}
}

func TestScanAgreesWithReference(t *testing.T) {
	valid, err := AppendDelivery(nil, event.Delivery{Event: sampleChanged(), Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	body := valid[HeaderSize:]
	// Every single-byte corruption and every truncation of a valid body.
	for i := range body {
		for _, v := range []byte{0, 1, 2, 0x7f, 0xff} {
			b := bytes.Clone(body)
			b[i] = v
			checkAgainstReference(t, b)
		}
		checkAgainstReference(t, body[:i])
	}
	checkAgainstReference(t, body)
	// Counts far beyond the body must be refused without scanning them.
	for _, n := range []uint32{1, 1 << 31, 1<<32 - 1} {
		huge := binary.LittleEndian.AppendUint32(nil, 1)
		huge = append(huge, 'x', 1, 0)
		huge = binary.LittleEndian.AppendUint32(huge, 0) // empty default
		huge = binary.LittleEndian.AppendUint32(huge, n) // rule count
		huge = append(huge, make([]byte, 40)...)
		if _, err := DecodeSettingChanged(huge); err == nil {
			t.Fatalf("a rule count of %d in a short body was accepted", n)
		}
		checkAgainstReference(t, huge)
	}
}

func FuzzScanAgreesWithReference(f *testing.F) {
	for _, ev := range []*event.SettingChanged{sampleChanged(), {Setting: "x"}} {
		b, _ := AppendDelivery(nil, event.Delivery{Event: ev})
		f.Add(b[HeaderSize:])
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkAgainstReference(t, body) })
}

// The iterators trust the decoder's check, but a body they did not expect
// must still never take them out of bounds.
func FuzzIteratorsStayInBounds(f *testing.F) {
	valid, _ := AppendDelivery(nil, event.Delivery{Event: sampleChanged()})
	f.Add(valid[HeaderSize:], uint8(3))
	f.Add([]byte{}, uint8(1))
	f.Fuzz(func(t *testing.T, body []byte, n uint8) {
		rules := Rules{n: int(n), body: body}.Iter()
		got := 0
		for r, ok := rules.Next(); ok; r, ok = rules.Next() {
			got++
			pairs := r.Conditions.Iter()
			for _, _, ok := pairs.Next(); ok; _, _, ok = pairs.Next() {
			}
		}
		if got > int(n) {
			t.Fatalf("%d rules from a list of %d", got, n)
		}
		pairs := Pairs{n: int(n), body: body}.Iter()
		for _, _, ok := pairs.Next(); ok; _, _, ok = pairs.Next() {
		}
	})
}
