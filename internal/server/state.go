package server

import (
	"slices"

	"github.com/heksher-go/heksher/internal/htype"
)

// state is the whole data set. It is only touched with Engine.mu held.
type state struct {
	features []string            // in hierarchy order; index = position
	settings map[string]*setting // by canonical name
	names    map[string]*setting // by canonical name and by alias
	rules    map[int64]*rule
	nextRule int64 // the id the next rule gets
}

// setting is one declared setting.
type setting struct {
	name     string
	aliases  []string // sorted
	typ      *htype.Type
	def      htype.Value
	meta     []htype.Member
	features map[string]struct{}
	version  string
	rules    []*rule // by id
}

// rule is one rule; it points at its setting, so renames carry it along.
type rule struct {
	id      int64
	setting *setting
	conds   map[string]string
	list    [][2]string // conds as (feature, value) pairs, for fast iteration
	value   htype.Value
	meta    []htype.Member
}

func newState() *state {
	return &state{
		settings: map[string]*setting{},
		names:    map[string]*setting{},
		rules:    map[int64]*rule{},
		nextRule: 1,
	}
}

// featureIndex returns the index of a context feature, or -1.
func (st *state) featureIndex(name string) int {
	return slices.Index(st.features, name)
}

// ordered returns the given feature names sorted by hierarchy index
// (unknown names last, by name).
func (st *state) ordered(names []string) []string {
	out := slices.Clone(names)
	slices.SortFunc(out, func(a, b string) int {
		ia, ib := st.featureIndex(a), st.featureIndex(b)
		if ia < 0 {
			ia = len(st.features)
		}
		if ib < 0 {
			ib = len(st.features)
		}
		if ia != ib {
			return ia - ib
		}
		if a < b {
			return -1
		}
		if a > b {
			return 1
		}
		return 0
	})
	return out
}

// featureList returns a setting's configurable features in hierarchy order.
func (st *state) featureList(s *setting) []string {
	names := make([]string, 0, len(s.features))
	for f := range s.features {
		names = append(names, f)
	}
	return st.ordered(names)
}

// condPairs returns a rule's conditions as [feature, value] pairs in
// hierarchy order.
func (st *state) condPairs(r *rule) [][2]string {
	names := make([]string, 0, len(r.conds))
	for f := range r.conds {
		names = append(names, f)
	}
	names = st.ordered(names)
	out := make([][2]string, len(names))
	for i, n := range names {
		out[i] = [2]string{n, r.conds[n]}
	}
	return out
}

func pairsValue(pairs [][2]string) htype.Value {
	vs := make([]htype.Value, len(pairs))
	for i, p := range pairs {
		vs[i] = arr(str(p[0]), str(p[1]))
	}
	return arr(vs...)
}

// resolve finds a setting by canonical name or alias.
func (st *state) resolve(name string) *setting { return st.names[name] }

// MaxRuleID is the largest rule id the engine assigns: the reference's
// rule ids are PostgreSQL serials (32-bit). Once it is taken, new rules are
// refused; a data file holding a larger id is refused at start.
const MaxRuleID = 1<<31 - 1

// idsLeft reports whether a new rule can get an id.
func (st *state) idsLeft() bool { return st.nextRule <= MaxRuleID }

// addRule stores r and assigns its id; the caller checks idsLeft first.
func (st *state) addRule(s *setting, conds map[string]string, value htype.Value, meta []htype.Member) *rule {
	r := newRule(st.nextRule, s, conds, value, meta)
	st.nextRule++
	st.rules[r.id] = r
	s.rules = append(s.rules, r)
	return r
}

func (st *state) deleteRule(r *rule) {
	delete(st.rules, r.id)
	s := r.setting
	s.rules = slices.DeleteFunc(s.rules, func(x *rule) bool { return x == r })
}

// findRule returns the rule of s with exactly these conditions.
func (s *setting) findRule(conds map[string]string) *rule {
	for _, r := range s.rules {
		if len(r.conds) != len(conds) {
			continue
		}
		same := true
		for k, v := range conds {
			if r.conds[k] != v {
				same = false
				break
			}
		}
		if same {
			return r
		}
	}
	return nil
}

func (st *state) deleteSetting(s *setting) {
	for _, r := range s.rules {
		delete(st.rules, r.id)
	}
	delete(st.settings, s.name)
	delete(st.names, s.name)
	for _, a := range s.aliases {
		delete(st.names, a)
	}
}

// rename makes newName the canonical name of s; the old name becomes an
// alias, and newName stops being one.
func (st *state) rename(s *setting, newName string) {
	old := s.name
	delete(st.settings, old)
	s.aliases = slices.DeleteFunc(s.aliases, func(a string) bool { return a == newName })
	if !slices.Contains(s.aliases, old) {
		s.aliases = append(s.aliases, old)
		slices.Sort(s.aliases)
	}
	s.name = newName
	st.settings[newName] = s
	st.names[newName] = s
	st.names[old] = s
}

// sortedSettings returns every setting ordered by canonical name.
func (st *state) sortedSettings() []*setting {
	out := make([]*setting, 0, len(st.settings))
	for _, s := range st.settings {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *setting) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	return out
}

// usedBy returns the settings that have feature f among their configurable
// features.
func (st *state) usedBy(f string) []*setting {
	var out []*setting
	for _, s := range st.settings {
		if _, ok := s.features[f]; ok {
			out = append(out, s)
		}
	}
	return out
}

// mergeMeta writes the keys of add into base the way the reference's
// upsert of one row per key reads back (jsonb.go): keys of base that add
// does not touch keep their order, then every key of add in add's order
// (a rewritten key moves last).
func mergeMeta(base, add []htype.Member) []htype.Member {
	out := slices.DeleteFunc(slices.Clone(base), func(x htype.Member) bool {
		return slices.ContainsFunc(add, func(a htype.Member) bool { return a.Key == x.Key })
	})
	return append(out, add...)
}

func deleteMetaKey(base []htype.Member, key string) []htype.Member {
	return slices.DeleteFunc(slices.Clone(base), func(x htype.Member) bool { return x.Key == key })
}

func newRule(id int64, s *setting, conds map[string]string, value htype.Value, meta []htype.Member) *rule {
	r := &rule{id: id, setting: s, conds: conds, value: value, meta: meta}
	for f, v := range conds {
		r.list = append(r.list, [2]string{f, v})
	}
	return r
}
