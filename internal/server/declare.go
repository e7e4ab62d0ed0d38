package server

import (
	"net/http"
	"slices"

	"github.com/heksher-go/heksher/internal/htype"
)

// declaration is a validated POST /settings/declare body.
type declaration struct {
	name     string
	features []string
	typ      *htype.Type
	def      htype.Value
	meta     []htype.Member
	alias    string // empty: none
	version  string
}

// parseDeclaration validates the body f reads as the reference's model does:
// field checks first, then (only if they all pass) the default against the
// type, then name versus alias. Duplicate configurable features are a
// validation error here rather than the reference's crash (reference bug 8, docs/DEVSERVER.md).
func parseDeclaration(f *fields) (*declaration, []valErr) {
	d := &declaration{}
	d.name, _ = f.str("name", true, patSettingName)
	d.features, _ = f.strList("configurable_features", patFeatureName, 1)
	if f.ok() {
		seen := map[string]bool{}
		for _, x := range d.features {
			if seen[x] {
				f.add(valErr{loc: []any{"body", "configurable_features"}, msg: "the list has duplicated items",
					typ: "value_error.list.unique_items"})
				break
			}
			seen[x] = true
		}
	}
	d.typ, _ = f.settingType("type")
	d.def, _ = f.any("default_value")
	d.meta, _ = f.metadata("metadata", false)
	d.alias, _ = f.str("alias", false, patSettingName)
	d.version, _ = f.version("version", false, "1.0")
	if !f.ok() {
		return nil, f.errs
	}
	root := []any{"body", "__root__"}
	if !d.typ.Accepts(d.def) {
		return nil, []valErr{{loc: root, typ: "type_error",
			msg: "type (" + d.typ.String() + ") and default value (" + pyStr(d.def) + ") must match"}}
	}
	if d.alias != "" && d.alias == d.name {
		return nil, []valErr{errValue(root, "name ("+d.name+") and alias ("+d.alias+") must differ")}
	}
	if d.meta == nil {
		d.meta = []htype.Member{}
	}
	return d, nil
}

// declare implements POST /settings/declare.
func (e *Engine) declare(rq *request) *response {
	d, errs := parseDeclaration(bodyFields(rq, nil))
	if errs != nil {
		return validationResp(errs)
	}
	return e.withState(writing, func() *response {
		existing := e.st.resolve(d.name)
		if d.alias != "" {
			target := e.st.resolve(d.alias)
			if target == nil {
				return detailResp(http.StatusNotFound, "alias "+d.alias+" does not exist")
			}
			ok := (existing == nil && d.alias == target.name) || (existing != nil && existing.name == target.name)
			if !ok {
				return detailResp(http.StatusConflict, "alias "+d.alias+" is an alias of unrelated setting "+target.name)
			}
			if existing == nil {
				existing = target
			}
		}
		if existing == nil {
			return e.create(d)
		}
		return e.redeclare(existing, d)
	})
}

// create adds a new setting (the declaration names nothing that exists).
func (e *Engine) create(d *declaration) *response {
	if d.version != "1.0" {
		return textResp(http.StatusBadRequest, "newly created settings must have version 1.0")
	}
	var unknown []string
	for _, x := range d.features {
		if e.st.featureIndex(x) < 0 {
			unknown = append(unknown, x)
		}
	}
	if len(unknown) > 0 {
		return textResp(http.StatusNotFound, pyStrSet(unknown)+" are not acceptable context features")
	}
	s := &setting{
		name: d.name, typ: d.typ, def: d.def, meta: d.meta, version: d.version,
		features: map[string]struct{}{}, aliases: []string{},
	}
	for _, x := range d.features {
		s.features[x] = struct{}{}
	}
	e.st.settings[s.name] = s
	e.st.names[s.name] = s
	e.changedLocked()
	return valueResp(http.StatusOK, obj(m("outcome", str("created"))))
}

// redeclare handles a declaration of an existing setting: uptodate,
// mismatch, outdated, upgraded or rejected.
func (e *Engine) redeclare(s *setting, d *declaration) *response {
	n, old := parseVersion(d.version), parseVersion(s.version)
	// string equality (reference bug 3, docs/DEVSERVER.md)
	if d.version == s.version || (e.opts.Fix.VersionEquality && n.cmp(old) == 0) {
		diffs, fail := e.differences(s, d, false)
		if fail != nil {
			return fail
		}
		if diffs.empty() {
			return valueResp(http.StatusOK, obj(m("outcome", str("uptodate"))))
		}
		return valueResp(http.StatusConflict, obj(m("outcome", str("mismatch")), m("differences", diffs.value())))
	}
	if n.cmp(old) < 0 {
		diffs, _ := e.differences(s, d, true)
		return valueResp(http.StatusOK, obj(m("outcome", str("outdated")),
			m("latest_version", str(s.version)), m("differences", diffs.value())))
	}
	diffs, fail := e.differences(s, d, false)
	if fail != nil {
		return fail
	}
	accepted := len(diffs.mismatch) == 0 && (cmpDecimal(n.major, old.major) > 0 || len(diffs.major) == 0)
	outcome, status := "upgraded", http.StatusOK
	if !accepted {
		outcome, status = "rejected", http.StatusConflict
	} else {
		e.applyUpgrade(s, d, diffs)
	}
	return valueResp(status, obj(m("outcome", str(outcome)), m("previous_version", str(diffs.previous)),
		m("differences", diffs.value())))
}

// applyUpgrade stores every changed attribute and the new version.
func (e *Engine) applyUpgrade(s *setting, d *declaration, diffs *diffSet) {
	if diffs.changed.features {
		s.features = map[string]struct{}{}
		for _, x := range d.features {
			s.features[x] = struct{}{}
		}
	}
	if diffs.changed.meta {
		// The reference crashes replacing metadata with {} (reference bug 7);
		// storing {} is the intended behaviour.
		s.meta = slices.Clone(d.meta)
	}
	if diffs.changed.typ {
		s.typ = d.typ
	}
	if diffs.changed.def && (e.opts.Fix.FalsyDefaultUpgrade || !falsy(d.def)) {
		s.def = d.def
	}
	if diffs.changed.name {
		e.st.rename(s, d.name)
	}
	s.version = d.version
	e.changedLocked()
}

// falsy reports Python falsiness of a JSON value (reference bug 6).
func falsy(v htype.Value) bool {
	switch v.Kind() {
	case htype.Null:
		return true
	case htype.Boolean:
		return !v.Bool()
	case htype.Number:
		return v.Float() == 0
	case htype.String:
		return v.Str() == ""
	case htype.Array:
		return len(v.Items()) == 0
	case htype.Object:
		return len(v.Members()) == 0
	}
	return false
}
