package resolve

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// refNode is the reference client's tree, built and walked literally as
// heksher-py builds and walks it, to check Table against.
type refNode struct {
	exact map[string]*refNode
	wild  *refNode
	leaf  int
}

func refBuild(features []string, rules [][]Condition) *refNode {
	root := &refNode{exact: map[string]*refNode{}}
	for ri, conds := range rules {
		byF := map[string]string{}
		for _, c := range conds {
			byF[c.Feature] = c.Value
		}
		cur := root
		for _, f := range features {
			var nx *refNode
			if v, ok := byF[f]; ok {
				nx = cur.exact[v]
				if nx == nil {
					nx = &refNode{exact: map[string]*refNode{}}
					cur.exact[v] = nx
				}
			} else {
				nx = cur.wild
				if nx == nil {
					nx = &refNode{exact: map[string]*refNode{}}
					cur.wild = nx
				}
			}
			cur = nx
		}
		cur.leaf = ri
	}
	return root
}

// refResolve returns (rule, exactDepth, matched, missingFeature).
func refResolve(nd *refNode, features []string, ns map[string]string, d, lastExact int) (int, int, bool, int) {
	if d == len(features) {
		return nd.leaf, lastExact, true, -1
	}
	v, ok := ns[features[d]]
	if !ok {
		return 0, 0, false, d
	}
	var er, ed, wr, wd int
	var em, wm bool
	if c := nd.exact[v]; c != nil {
		var miss int
		er, ed, em, miss = refResolve(c, features, ns, d+1, d)
		if miss >= 0 {
			return 0, 0, false, miss
		}
	}
	if nd.wild != nil {
		var miss int
		wr, wd, wm, miss = refResolve(nd.wild, features, ns, d+1, lastExact)
		if miss >= 0 {
			return 0, 0, false, miss
		}
	}
	switch {
	case em && wm:
		if wd > ed {
			return wr, wd, true, -1
		}
		return er, ed, true, -1
	case em:
		return er, ed, true, -1
	case wm:
		return wr, wd, true, -1
	}
	return 0, 0, false, -1
}

// lookupMap prepares values/hashes from a map and calls Lookup.
func lookupMap(t *Table, features []string, ns map[string]string) (int, int) {
	values := make([]string, len(features))
	hashes := make([]uint64, len(features))
	var present uint64
	for d, f := range features {
		if v, ok := ns[f]; ok {
			values[d], hashes[d] = v, Hash(v)
			present |= 1 << d
		}
	}
	return t.Lookup(values, hashes, present)
}

func conds(kv ...string) []Condition {
	var out []Condition
	for i := 0; i < len(kv); i += 2 {
		out = append(out, Condition{kv[i], kv[i+1]})
	}
	return out
}

func idx(i int) string { return strconv.Itoa(i) }

// B4
func TestBuild_Tree(t *testing.T) {
	tests := []struct {
		name     string
		features []string
		rules    [][]Condition
		labels   []string
		want     string
	}{
		// B4: ()→0, (a=A0)→1, (a=A0,b=B0)→2, (b=B1)→3
		{"B4 collate", []string{"a", "b", "c"},
			[][]Condition{nil, conds("a", "A0"), conds("a", "A0", "b", "B0"), conds("b", "B1")},
			[]string{"0", "1", "2", "3"},
			"{*:{*:{*:0},B1:{*:3}},A0:{*:{*:1},B0:{*:2}}}"},
		// B5: no features, one rule ()→0 is the bare value.
		{"B5 collate null", nil, [][]Condition{nil}, []string{"0"}, "0"},
		// B6: no rules, any features: an empty root.
		{"B6 no rules abc", []string{"a", "b", "c"}, nil, nil, "{}"},
		{"B6 no rules a", []string{"a"}, nil, nil, "{}"},
		{"B6 no rules no features", nil, nil, nil, "{}"},
		// Conditions out of feature order are re-ordered (Go decision 3.1).
		{"reordered conditions", []string{"a", "b"}, [][]Condition{conds("b", "B", "a", "A")}, []string{"x"}, "{A:{B:x}}"},
		// B8: a second (a=A0) replaces the first.
		{"B8 conflict", []string{"a", "b", "c"},
			[][]Condition{nil, conds("a", "A0"), conds("a", "A0", "b", "B0"), conds("b", "B1"), conds("a", "A0")},
			[]string{"0", "1", "2", "3", "5"},
			"{*:{*:{*:0},B1:{*:3}},A0:{*:{*:5},B0:{*:2}}}"},
		// B9: no features, ()→0 then ()→1: the last wins.
		{"B9 conflict nil", nil, [][]Condition{nil, nil}, []string{"0", "1"}, "1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb, _, err := Build(tc.features, tc.rules)
			if err != nil {
				t.Fatal(err)
			}
			got := tb.Tree(func(i int) string { return tc.labels[i] })
			if got != tc.want {
				t.Errorf("tree = %s, want %s", got, tc.want)
			}
		})
	}
}

// B8, B9: conflicts are reported with the replaced rule.
func TestBuild_Conflicts(t *testing.T) {
	_, cs, err := Build([]string{"a", "b"}, [][]Condition{conds("a", "A0"), conds("b", "B"), conds("a", "A0")})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Rule != 2 || cs[0].Replaced != 0 || fmt.Sprint(cs[0].Conditions) != "[{a A0}]" {
		t.Errorf("conflicts = %+v", cs)
	}
	_, cs, _ = Build(nil, [][]Condition{nil, nil, nil})
	if len(cs) != 2 {
		t.Errorf("zero-feature conflicts = %+v, want 2", cs)
	}
}

// B7
func TestBuild_Errors(t *testing.T) {
	tests := []struct {
		name     string
		features []string
		rules    [][]Condition
		unknown  bool
	}{
		{"B7 no features, conditioned rule", nil, [][]Condition{conds("a", "A0")}, true},
		{"B7 unknown feature D", []string{"a", "b", "c"}, [][]Condition{conds("D", "D0")}, true},
		{"duplicate condition", []string{"a"}, [][]Condition{conds("a", "x", "a", "y")}, false},
		{"duplicate feature", []string{"a", "a"}, nil, false},
		{"too many features", make([]string, 65), nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Build(tc.features, tc.rules)
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, ErrUnknownFeature); got != tc.unknown {
				t.Errorf("errors.Is(ErrUnknownFeature) = %v (%v)", got, err)
			}
		})
	}
}

// The worked resolution examples A–F and B64 (docs/CONFORMANCE.md).
func TestLookup_Examples(t *testing.T) {
	f3 := []string{"user", "trust", "theme"}
	r5 := [][]Condition{
		conds("user", "admin"), conds("theme", "dark"), conds("user", "admin", "trust", "full"),
		conds("trust", "full"), conds("user", "admin", "theme", "dark"),
	}
	e := [][]Condition{conds("user", "u1", "theme", "t1"), conds("trust", "r1", "theme", "t1"), conds("theme", "t1")}
	f2 := []string{"user", "theme"}
	fr := [][]Condition{conds("user", "admin", "theme", "dark")}
	tests := []struct {
		name        string
		features    []string
		rules       [][]Condition
		ns          map[string]string
		wantRule    int
		wantMissing int
	}{
		{"A crimson", f3, r5, map[string]string{"user": "admin", "trust": "full", "theme": "dark"}, 4, -1},
		{"B gold", f3, r5, map[string]string{"user": "admin", "trust": "full", "theme": "light"}, 2, -1},
		{"C none", f3, r5, map[string]string{"user": "guest", "trust": "none", "theme": "light"}, -1, -1},
		{"D black", f3, r5, map[string]string{"user": "guest", "trust": "full", "theme": "dark"}, 1, -1},
		// B64, example E: three-feature tie-break.
		{"E 1", f3, e, map[string]string{"user": "u1", "trust": "r1", "theme": "t1"}, 0, -1},
		{"E 2", f3, e, map[string]string{"user": "u2", "trust": "r1", "theme": "t1"}, 1, -1},
		{"E 3", f3, e, map[string]string{"user": "u2", "trust": "r2", "theme": "t1"}, 2, -1},
		// B64, example F: the lazy missing-feature error.
		{"F bob", f2, fr, map[string]string{"user": "bob"}, -1, -1},
		{"F admin", f2, fr, map[string]string{"user": "admin"}, -1, 1},
		{"F theme only", f2, fr, map[string]string{"theme": "dark"}, -1, 0},
		{"empty rules need f0", f2, nil, map[string]string{}, -1, 0},
		{"empty string is a value", f2, fr, map[string]string{"user": "", "theme": ""}, -1, -1},
		{"no features", nil, [][]Condition{nil}, nil, 0, -1},
		{"no features no rules", nil, nil, nil, -1, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb, _, err := Build(tc.features, tc.rules)
			if err != nil {
				t.Fatal(err)
			}
			rule, missing := lookupMap(tb, tc.features, tc.ns)
			if rule != tc.wantRule || missing != tc.wantMissing {
				t.Errorf("Lookup = (%d, %d), want (%d, %d)", rule, missing, tc.wantRule, tc.wantMissing)
			}
		})
	}
}

// TestLookup_MatchesReference compares Table with the literal tree walk on
// random rule sets and namespaces, including missing features.
func TestLookup_MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vals := []string{"", "x", "y", "z"}
	for iter := 0; iter < 3000; iter++ {
		n := rng.IntN(5)
		features := []string{"f0", "f1", "f2", "f3", "f4"}[:n]
		nr := rng.IntN(12)
		var rules [][]Condition
		for range nr {
			var cs []Condition
			for d := 0; d < n; d++ {
				if rng.IntN(2) == 0 {
					cs = append(cs, Condition{features[d], vals[rng.IntN(len(vals))]})
				}
			}
			rng.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
			rules = append(rules, cs)
		}
		tb, _, err := Build(features, rules)
		if err != nil {
			t.Fatal(err)
		}
		ref := refBuild(features, rules)
		for range 10 {
			ns := map[string]string{}
			for _, f := range features {
				if rng.IntN(6) != 0 {
					ns[f] = vals[rng.IntN(len(vals))]
				}
			}
			wantRule, _, matched, wantMissing := refResolve(ref, features, ns, 0, -1)
			if !matched || len(rules) == 0 { // zero features, zero rules: no match (Go decision 3.1)
				wantRule = -1
			}
			if wantMissing >= 0 {
				wantRule = -1
			}
			rule, missing := lookupMap(tb, features, ns)
			if rule != wantRule || missing != wantMissing {
				t.Fatalf("features %v rules %v ns %v: Lookup = (%d,%d), reference = (%d,%d)",
					features, rules, ns, rule, missing, wantRule, wantMissing)
			}
		}
	}
}

// TestLookup_LargeTablesMatchReference is TestLookup_MatchesReference for
// tables large enough to keep a value set, with namespace values that no
// rule names, and missing features.
func TestLookup_LargeTablesMatchReference(t *testing.T) {
	// A prefix shared by rules of different masks: {f0} of the rule
	// (f0=x, f2=y) serves depths 1 and 2 only, so a namespace lacking f3
	// with f2 other than y is not reached through it.
	features := []string{"f0", "f1", "f2", "f3"}
	rules := [][]Condition{conds("f0", "x", "f2", "y"), conds("f0", "z"), conds("f0", "z", "f3", "w")}
	for i := range valueSetMin {
		rules = append(rules, conds("f0", "p"+idx(i), "f1", "a"))
	}
	tb, _, err := Build(features, rules)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []map[string]string{
		{"f0": "x", "f1": "a", "f2": "q"}, {"f0": "x", "f1": "a", "f2": "y"}, {"f0": "z", "f1": "a", "f2": "q"},
		{"f0": "p3", "f1": "b", "f2": "y"}, {"f0": "p3", "f1": "a", "f2": "y"}, {"f0": "x", "f2": "y"},
	} {
		wantRule, _, matched, wantMissing := refResolve(refBuild(features, rules), features, ns, 0, -1)
		if !matched || wantMissing >= 0 {
			wantRule = -1
		}
		if rule, missing := lookupMap(tb, features, ns); rule != wantRule || missing != wantMissing {
			t.Fatalf("ns %v: Lookup = (%d,%d), reference = (%d,%d)", ns, rule, missing, wantRule, wantMissing)
		}
	}

	rng := rand.New(rand.NewPCG(5, 6))
	vals := []string{"", "x", "y", "z", "w", "v"}
	ask := append(slices.Clone(vals), "q", "absent")
	for range 80 {
		n := 1 + rng.IntN(8)
		features := []string{"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"}[:n]
		nr := valueSetMin + rng.IntN(600)
		// Half the tables condition every rule on f0, so that no rule
		// reaches a missing feature without a value (no empty prefix).
		onF0 := rng.IntN(2) == 0
		var rules [][]Condition
		for range nr {
			var cs []Condition
			for d := 0; d < n; d++ {
				if (d == 0 && onF0) || rng.IntN(2) == 0 {
					cs = append(cs, Condition{features[d], vals[rng.IntN(len(vals)-rng.IntN(3))]})
				}
			}
			rules = append(rules, cs)
		}
		tb, _, err := Build(features, rules)
		if err != nil {
			t.Fatal(err)
		}
		ref := refBuild(features, rules)
		for range 40 {
			ns := map[string]string{}
			for _, f := range features {
				if rng.IntN(5) != 0 {
					ns[f] = ask[rng.IntN(len(ask))]
				}
			}
			wantRule, _, matched, wantMissing := refResolve(ref, features, ns, 0, -1)
			if !matched || wantMissing >= 0 {
				wantRule = -1
			}
			rule, missing := lookupMap(tb, features, ns)
			if rule != wantRule || missing != wantMissing {
				t.Fatalf("features %v, %d rules, ns %v: Lookup = (%d,%d), reference = (%d,%d)",
					features, nr, ns, rule, missing, wantRule, wantMissing)
			}
		}
	}
}

func TestLookup_ZeroAllocs(t *testing.T) {
	tb, values, hashes := bench3x50(t)
	allocs := testing.AllocsPerRun(100, func() {
		tb.Lookup(values, hashes, 7)
	})
	if allocs != 0 {
		t.Errorf("Lookup allocates %v times", allocs)
	}
}

// bench3x50 builds 50 rules over 3 features: 20 on user, 15 on
// (user, theme), 10 on trust, 5 on theme; and a namespace that matches a
// (user, theme) rule.
func bench3x50(tb testing.TB) (*Table, []string, []uint64) {
	features := []string{"user", "trust", "theme"}
	var rules [][]Condition
	for i := range 20 {
		rules = append(rules, conds("user", "u"+idx(i)))
	}
	for i := range 15 {
		rules = append(rules, conds("user", "u"+idx(i), "theme", "t"+idx(i)))
	}
	for i := range 10 {
		rules = append(rules, conds("trust", "r"+idx(i)))
	}
	for i := range 5 {
		rules = append(rules, conds("theme", "t"+idx(i)))
	}
	t, _, err := Build(features, rules)
	if err != nil {
		tb.Fatal(err)
	}
	values := []string{"u3", "r3", "t3"}
	hashes := []uint64{Hash("u3"), Hash("r3"), Hash("t3")}
	return t, values, hashes
}

func BenchmarkTable_Lookup(b *testing.B) {
	tb, values, hashes := bench3x50(b)
	b.ReportAllocs()
	for b.Loop() {
		tb.Lookup(values, hashes, 7)
	}
}

// randomRules builds n rules over 3 features with random masks and values.
func randomRules(n int) ([]string, [][]Condition) {
	rng := rand.New(rand.NewPCG(3, 4))
	features := []string{"user", "trust", "theme"}
	rules := make([][]Condition, 0, n)
	for range n {
		var cs []Condition
		for cs == nil {
			for d, f := range features {
				if rng.IntN(2) == 0 {
					cs = append(cs, Condition{f, f[:1] + idx(rng.IntN(n/4+1)+d)})
				}
			}
		}
		rules = append(rules, cs)
	}
	return features, rules
}

func BenchmarkTable_LookupSizes(b *testing.B) {
	for _, n := range []int{50, 1000, 100000} {
		b.Run(idx(n), func(b *testing.B) {
			features, rules := randomRules(n)
			t, _, err := Build(features, rules)
			if err != nil {
				b.Fatal(err)
			}
			values := []string{"u1", "t2", "t3"}
			hashes := []uint64{Hash(values[0]), Hash(values[1]), Hash(values[2])}
			b.ReportAllocs()
			for b.Loop() {
				t.Lookup(values, hashes, 7)
			}
		})
	}
}

func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{50, 1000} {
		b.Run(idx(n), func(b *testing.B) {
			features, rules := randomRules(n)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Build(features, rules); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzLookup decodes a rule set and a namespace from bytes and compares
// Table with the literal tree walk.
func FuzzLookup(f *testing.F) {
	f.Add([]byte{3, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add([]byte{2, 1, 0, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		n := int(next() % 5)
		features := []string{"f0", "f1", "f2", "f3", "f4"}[:n]
		vals := []string{"", "x", "y"}
		nr := int(next() % 10)
		var rules [][]Condition
		for range nr {
			b := next()
			var cs []Condition
			for d := range n {
				if b&(1<<d) != 0 {
					cs = append(cs, Condition{features[d], vals[int(next())%len(vals)]})
				}
			}
			rules = append(rules, cs)
		}
		ns := map[string]string{}
		for _, f := range features {
			if b := next(); b%4 != 0 {
				ns[f] = vals[int(b)%len(vals)]
			}
		}
		tb, _, err := Build(features, rules)
		if err != nil {
			t.Fatal(err)
		}
		wantRule, _, matched, wantMissing := refResolve(refBuild(features, rules), features, ns, 0, -1)
		if !matched || len(rules) == 0 || wantMissing >= 0 {
			wantRule = -1
		}
		if rule, missing := lookupMap(tb, features, ns); rule != wantRule || missing != wantMissing {
			t.Fatalf("features %v rules %v ns %v: Lookup = (%d,%d), reference = (%d,%d)", features, rules, ns, rule, missing, wantRule, wantMissing)
		}
	})
}

// BenchmarkTable_LookupScale compares lookups at 10 and 100,000 rules on
// every path: a namespace whose rule is found, one that no rule matches,
// and two that lack the last feature (the missing-feature check), one
// reaching that feature and one not. "8features" has rules in all 255
// combinations of 8 features.
func BenchmarkTable_LookupScale(b *testing.B) {
	for _, n := range []int{10, 100000} {
		features, rules := randomRules(n)
		// Every rule conditions on the first feature, so that a namespace
		// lacking the last one reaches it only through a rule on its user.
		for i, cs := range rules {
			if !slices.ContainsFunc(cs, func(c Condition) bool { return c.Feature == features[0] }) {
				rules[i] = append(slices.Clone(cs), Condition{features[0], "u" + idx(i%(n/4+1))})
			}
		}
		t, _, err := Build(features, rules)
		if err != nil {
			b.Fatal(err)
		}
		r0 := make([]string, 3)
		for _, c := range rules[0] {
			r0[slices.Index(features, c.Feature)] = c.Value
		}
		for d := range r0 {
			if r0[d] == "" {
				r0[d] = "none"
			}
		}
		for _, p := range []struct {
			name    string
			values  []string
			present uint64
		}{
			{"hit", r0, 7},
			{"no-match", []string{"none", "none", "none"}, 7},
			{"missing-feature-reached", []string{r0[0], r0[1], ""}, 3},
			{"missing-feature-not-reached", []string{"none", "none", ""}, 3},
		} {
			hashes := []uint64{Hash(p.values[0]), Hash(p.values[1]), Hash(p.values[2])}
			t.Lookup(p.values, hashes, p.present) // builds the missing-feature index
			b.Run(idx(n)+"/"+p.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					t.Lookup(p.values, hashes, p.present)
				}
			})
		}
	}
	for _, n := range []int{10, 100000} {
		features := []string{"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"}
		rules := make([][]Condition, 0, n)
		for i := range n {
			mask := i%255 + 1
			var cs []Condition
			for d := range 8 {
				if mask&(1<<d) != 0 {
					cs = append(cs, Condition{features[d], "v" + idx(i/255)})
				}
			}
			rules = append(rules, cs)
		}
		t, _, err := Build(features, rules)
		if err != nil {
			b.Fatal(err)
		}
		values := []string{"x", "x", "x", "x", "x", "x", "x", "x"}
		hashes := make([]uint64, 8)
		for d := range hashes {
			hashes[d] = Hash(values[d])
		}
		t.Lookup(values, hashes, 127) // builds the missing-feature index
		b.Run("8features/"+idx(n)+"/no-match", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t.Lookup(values, hashes, 255)
			}
		})
		b.Run("8features/"+idx(n)+"/missing-feature", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t.Lookup(values, hashes, 127)
			}
		})
	}
}
