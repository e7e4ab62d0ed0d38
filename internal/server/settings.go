package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/heksher-go/heksher/internal/htype"
)

func (e *Engine) listSettings(rq *request) *response {
	additional := false
	if raw, ok := rq.queryParam("include_additional_data"); ok {
		b, ok := parseBool(raw)
		if !ok {
			return validationResp([]valErr{errBool([]any{"query", "include_additional_data"})})
		}
		additional = b
	}
	return e.withState(reading, func() *response {
		items := make([]htype.Value, 0, len(e.st.settings))
		for _, s := range e.st.sortedSettings() {
			ms := []htype.Member{
				m("name", str(s.name)), m("type", str(s.typ.String())),
				m("default_value", s.def), m("version", str(s.version)),
			}
			if additional {
				ms = append(ms, m("configurable_features", strArr(e.st.featureList(s))),
					m("metadata", metaValue(s.meta)), m("aliases", strArr(s.aliases)))
			}
			items = append(items, obj(ms...))
		}
		return valueResp(http.StatusOK, obj(m("settings", arr(items...))))
	})
}

func (e *Engine) getSetting(rq *request) *response {
	return e.withSetting(reading, rq.params["name"], settingMissing, func(s *setting) *response {
		return valueResp(http.StatusOK, obj(
			m("name", str(s.name)), m("configurable_features", strArr(e.st.featureList(s))),
			m("type", str(s.typ.String())), m("default_value", s.def), m("metadata", metaValue(s.meta)),
			m("aliases", strArr(s.aliases)), m("version", str(s.version)),
		))
	})
}

func (e *Engine) deleteSetting(rq *request) *response {
	return e.withSetting(writing, rq.params["name"], settingNameNotFound, func(s *setting) *response {
		e.st.deleteSetting(s)
		e.changedLocked()
		return noContent
	})
}

// versionStep applies the version rule PUT …/type and
// …/configurable_features share: at the stored version an unchanged
// attribute is a no-op; a version not above the stored one is a 409; a
// higher version with the attribute unchanged only records the version.
// It returns nil when the attribute must change. e.mu must be held for
// writing.
func (e *Engine) versionStep(s *setting, name, ver string, n, old version, unchanged bool) *response {
	c := n.cmp(old)
	switch {
	case c == 0 && unchanged:
		return noContent
	case c <= 0:
		// The reference formats the version tuple into a message that
		// already has parentheses around it: "((1, 3))", as replayed
		// against Heksher 0.5.7.
		return textResp(http.StatusConflict, fmt.Sprintf("the setting %s is at a higher version than the request (%s)", name, old.pair()))
	case unchanged:
		s.version = ver
		e.changedLocked()
		return noContent
	}
	return nil
}

// putType changes a setting's type explicitly (PUT /settings/{name}/type).
func (e *Engine) putType(rq *request) *response {
	f := bodyFields(rq, nil)
	typ, _ := f.settingType("type")
	ver, _ := f.version("version", true, "")
	if bad := f.invalid(); bad != nil {
		return bad
	}
	name := rq.params["name"]
	return e.withSetting(writing, name, settingMissing, func(s *setting) *response {
		return e.changeType(s, name, typ, ver)
	})
}

// changeType is putType's logic once the request is valid and the setting
// found: a no-op, a version bump, a conflict or the new type. e.mu must be
// held for writing.
func (e *Engine) changeType(s *setting, name string, typ *htype.Type, ver string) *response {
	n, old := parseVersion(ver), parseVersion(s.version)
	if done := e.versionStep(s, name, ver, n, old, htype.Equal(typ, s.typ)); done != nil {
		return done
	}
	var conflicts []htype.Value
	if !typ.Accepts(s.def) {
		conflicts = append(conflicts, str(fmt.Sprintf("the default value %s does not match the new type", pyRepr(s.def))))
	}
	for _, r := range s.rules {
		if !typ.Accepts(r.value) {
			conflicts = append(conflicts, str(fmt.Sprintf("rule %d (%s) has incompatible value %s",
				r.id, pyPairs(e.st.condPairs(r)), pyStr(r.value))))
		}
	}
	if !htype.IsSubtype(typ, s.typ) && n.major == old.major {
		conflicts = append(conflicts, str(fmt.Sprintf("cannot change type to non-subtype %s in a minor version bump", typ)))
	}
	if len(conflicts) > 0 {
		return valueResp(http.StatusConflict, obj(m("conflicts", arr(conflicts...))))
	}
	s.typ = typ
	s.version = ver
	e.changedLocked()
	return noContent
}

// pyPairs renders conditions as a Python list of tuples.
func pyPairs(pairs [][2]string) string {
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = "(" + pyQuote(p[0]) + ", " + pyQuote(p[1]) + ")"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// putName renames a setting explicitly (PUT /settings/{name}/name).
func (e *Engine) putName(rq *request) *response {
	f := bodyFields(rq, nil)
	newName, _ := f.str("name", true, patSettingName)
	ver, _ := f.version("version", true, "")
	if bad := f.invalid(); bad != nil {
		return bad
	}
	name := rq.params["name"]
	return e.withSetting(writing, name, settingDoesNotExist, func(s *setting) *response {
		return e.changeName(s, name, newName, ver)
	})
}

// changeName is putName's logic once the request is valid and the setting
// found. e.mu must be held for writing.
func (e *Engine) changeName(s *setting, name, newName, ver string) *response {
	n, old := parseVersion(ver), parseVersion(s.version)
	c := n.cmp(old)
	switch {
	case c == 0 && newName == s.name:
		return noContent
	case c < 0 || (c == 0 && e.opts.Fix.RenameVersion):
		return textResp(http.StatusConflict, fmt.Sprintf("The setting %s already has a newer version (%s)", name, s.version))
	case newName == s.name:
		s.version = ver
		e.changedLocked()
		return noContent
	}
	if other := e.st.resolve(newName); other != nil && other != s {
		return textResp(http.StatusConflict, "name already exists")
	}
	e.st.rename(s, newName)
	s.version = ver
	e.changedLocked()
	return noContent
}

// putFeatures replaces a setting's configurable features. An unknown
// feature is a 404 rather than the reference's crash (reference bug 13).
func (e *Engine) putFeatures(rq *request) *response {
	f := bodyFields(rq, nil)
	list, _ := f.strList("configurable_features", nil, 1)
	ver, _ := f.version("version", true, "")
	if bad := f.invalid(); bad != nil {
		return bad
	}
	name := rq.params["name"]
	return e.withSetting(writing, name, settingMissing, func(s *setting) *response {
		return e.changeFeatures(s, name, list, ver)
	})
}

// changeFeatures is putFeatures' logic once the request is valid and the
// setting found. e.mu must be held for writing.
func (e *Engine) changeFeatures(s *setting, name string, list []string, ver string) *response {
	want := map[string]struct{}{}
	for _, x := range list {
		want[x] = struct{}{}
	}
	n, old := parseVersion(ver), parseVersion(s.version)
	if done := e.versionStep(s, name, ver, n, old, setsEqual(want, s.features)); done != nil {
		return done
	}
	var removed []string
	for x := range s.features {
		if _, ok := want[x]; !ok {
			removed = append(removed, x)
		}
	}
	slices.Sort(removed)
	if usedFeatures, ids := rulesUsing(s, removed); len(ids) > 0 {
		return textResp(http.StatusConflict, fmt.Sprintf("Configurable features %s are in use by rules %s",
			pyStrSet(usedFeatures), pyIntList(ids)))
	}
	added := len(want) > len(s.features)-len(removed)
	if added && n.major == old.major {
		return textResp(http.StatusConflict, "Cannot add new configurable features on a minor version bump")
	}
	var unknown []string
	for x := range want {
		if e.st.featureIndex(x) < 0 {
			unknown = append(unknown, x)
		}
	}
	if len(unknown) > 0 {
		return textResp(http.StatusNotFound, pyStrSet(unknown)+" are not acceptable context features")
	}
	s.features = want
	s.version = ver
	e.changedLocked()
	return noContent
}

func setsEqual(a, b map[string]struct{}) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// rulesUsing lists, for each of the features some rule of s conditions on,
// the ids of those rules, newest first as the reference's lookup returns
// them (a rule using two of the features is listed twice, as there). It
// returns the features in use and the concatenated ids.
func rulesUsing(s *setting, features []string) ([]string, []int64) {
	var used []string
	var ids []int64
	for _, f := range features {
		n := len(ids)
		for i := len(s.rules) - 1; i >= 0; i-- {
			if _, ok := s.rules[i].conds[f]; ok {
				ids = append(ids, s.rules[i].id)
			}
		}
		if len(ids) > n {
			used = append(used, f)
		}
	}
	return used, ids
}
