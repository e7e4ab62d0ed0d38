package server

import (
	"net/http"
	"slices"

	"github.com/heksher-go/heksher/internal/htype"
)

// diffSet is the outcome of comparing a declaration with a stored setting.
type diffSet struct {
	minor, major, mismatch []htype.Value
	previous               string
	changed                struct{ features, typ, name, def, meta bool }
}

func (ds *diffSet) empty() bool {
	return len(ds.minor)+len(ds.major)+len(ds.mismatch) == 0
}

// value renders the differences grouped minor, major, mismatch.
func (ds *diffSet) value() htype.Value {
	all := make([]htype.Value, 0, len(ds.minor)+len(ds.major)+len(ds.mismatch))
	all = append(all, ds.minor...)
	all = append(all, ds.major...)
	all = append(all, ds.mismatch...)
	return arr(all...)
}

func attrDiff(level, attr string, latest htype.Value) htype.Value {
	return obj(m("level", str(level)), m("attribute", str(attr)), m("latest_value", latest))
}

func msgDiff(level, msg string) htype.Value {
	return obj(m("level", str(level)), m("message", str(msg)))
}

// differences compares d with s. In backward mode (an outdated declaration)
// every change is described from the declaration's point of view and rules
// are never inspected. A non-nil response means the whole request fails
// (an added feature that does not exist).
func (e *Engine) differences(s *setting, d *declaration, backward bool) (*diffSet, *response) {
	ds := &diffSet{previous: s.version}
	st := e.st

	// 1. configurable features, as sets.
	newSet := map[string]struct{}{}
	for _, x := range d.features {
		newSet[x] = struct{}{}
	}
	if !setsEqual(newSet, s.features) {
		ds.changed.features = true
		a, b := s.features, newSet
		if backward {
			a, b = b, a
		}
		var removed []string
		for x := range a {
			if _, ok := b[x]; !ok {
				removed = append(removed, x)
			}
		}
		slices.Sort(removed)
		handled := false
		if !backward && len(removed) > 0 {
			if _, ids := rulesUsing(s, removed); len(ids) > 0 {
				ds.mismatch = append(ds.mismatch, msgDiff("mismatch",
					"configurable features "+pyStrList(removed)+" are still in use by rules "+pyIntList(ids)))
				handled = true
			}
		}
		if !handled {
			if len(b) < len(a) && len(removed) == len(a)-len(b) {
				ds.minor = append(ds.minor, msgDiff("minor", "removal of configurable features "+pyStrList(removed)))
			} else {
				if !backward {
					var unknown []string
					for x := range b {
						if st.featureIndex(x) < 0 {
							unknown = append(unknown, x)
						}
					}
					if len(unknown) > 0 {
						return nil, detailResp(http.StatusNotFound, pyStrSet(unknown)+" are not acceptable context features")
					}
				}
				ds.major = append(ds.major, attrDiff("major", "configurable_features", strArr(st.featureList(s))))
			}
		}
	}

	// 2. type, semantically.
	if !htype.Equal(s.typ, d.typ) {
		ds.changed.typ = true
		x, y := s.typ, d.typ
		if backward {
			x, y = y, x
		}
		old := str(s.typ.String())
		if htype.IsSubtype(y, x) {
			ds.minor = append(ds.minor, attrDiff("minor", "type", old))
		} else {
			var bad []int64
			if !backward {
				// The reference looks the rules up by the declared name,
				// without resolving aliases: a declaration by alias or a
				// rename sees no rules.
				if d.name == s.name {
					for _, r := range s.rules {
						if !y.Accepts(r.value) {
							bad = append(bad, r.id)
						}
					}
				}
			}
			if len(bad) > 0 {
				slices.Sort(bad)
				ds.mismatch = append(ds.mismatch, msgDiff("mismatch", "setting type incompatible with values for rules: "+pyIntList(bad)))
			} else {
				ds.major = append(ds.major, attrDiff("major", "type", old))
			}
		}
	}

	// 3. name (a declaration by alias, or a rename through alias).
	if d.name != s.name {
		ds.changed.name = true
		ds.minor = append(ds.minor, attrDiff("minor", "name", str(s.name)))
	}

	// 4. default value, with Python equality (reference bug 17, docs/DEVSERVER.md).
	equal := htype.PyEqual
	if e.opts.Fix.BoolNumberEquality {
		equal = htype.JSONEqual
	}
	if !equal(s.def, d.def) {
		ds.changed.def = true
		ds.minor = append(ds.minor, attrDiff("minor", "default_value", s.def))
	}

	// 5. metadata.
	if !equal(metaValue(s.meta), metaValue(d.meta)) {
		ds.changed.meta = true
		ds.minor = append(ds.minor, attrDiff("minor", "metadata", metaValue(s.meta)))
	}
	return ds, nil
}
