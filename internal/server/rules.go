package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/heksher-go/heksher/internal/htype"
)

// addRule implements POST /rules.
func (e *Engine) addRule(rq *request) *response {
	f := bodyFields(rq, nil)
	name, _ := f.str("setting", true, patSettingName)
	conds := f.featureValues("feature_values")
	value, _ := f.any("value")
	meta, _ := f.metadata("metadata", false)
	if bad := f.invalid(); bad != nil {
		return bad
	}
	if meta == nil {
		meta = []htype.Member{}
	}
	return e.withSetting(writing, name, e.ruleSettingMissing, func(s *setting) *response {
		return e.createRule(s, conds, value, meta)
	})
}

// createRule is addRule's logic once the request is valid and the setting
// found. e.mu must be held for writing.
func (e *Engine) createRule(s *setting, conds map[string]string, value htype.Value, meta []htype.Member) *response {
	var notConf []string
	for k := range conds {
		if _, ok := s.features[k]; !ok {
			notConf = append(notConf, k)
		}
	}
	if len(notConf) > 0 {
		return textResp(http.StatusBadRequest, "setting is not configurable at context features "+pyStrSet(notConf))
	}
	if !s.typ.Accepts(value) {
		return textResp(http.StatusBadRequest, "rule value is incompatible with setting type "+s.typ.String())
	}
	if s.findRule(conds) != nil {
		return textResp(http.StatusConflict, "rule already exists")
	}
	if !e.st.idsLeft() {
		e.log.Error("server: no rule id left", "largest", MaxRuleID)
		return textResp(http.StatusInternalServerError, "no rule id left: rule ids go up to "+strconv.Itoa(MaxRuleID))
	}
	r := e.st.addRule(s, conds, value, meta)
	e.changedLocked()
	resp := valueResp(http.StatusCreated, obj(m("rule_id", num(r.id))))
	resp.header = map[string]string{"Location": "/" + strconv.FormatInt(r.id, 10)}
	return resp
}

// featureValues validates a non-empty Dict[feature name, feature value].
func (f *fields) featureValues(name string) map[string]string {
	v, ok := f.get(name, true)
	if !ok {
		return nil
	}
	loc := locOf(f.base, name)
	switch v.Kind() {
	case htype.Null:
		f.add(errNone(loc))
		return nil
	case htype.Object:
	default:
		f.add(errDict(loc))
		return nil
	}
	out := make(map[string]string, len(v.Members()))
	good := true
	for _, mem := range v.Members() {
		if !patFeatureName.match(mem.Key) {
			f.add(errRegex(locOf(loc, "__key__"), patFeatureName))
			good = false
		}
		s, ok := f.strAt(locOf(loc, mem.Key), mem.Value, patFeatureVal)
		good = good && ok
		out[mem.Key] = s
	}
	if good && len(out) == 0 {
		f.add(errValue(loc, "feature_values must not be empty"))
		return nil
	}
	return out
}

func (e *Engine) getRule(rq *request) *response {
	return e.withPathRule(rq, reading, func(r *rule) *response {
		return valueResp(http.StatusOK, obj(m("setting", str(r.setting.name)), m("value", r.value),
			m("feature_values", pairsValue(e.st.condPairs(r))), m("metadata", metaValue(r.meta))))
	})
}

func (e *Engine) deleteRule(rq *request) *response {
	return e.withPathRule(rq, writing, func(r *rule) *response {
		e.st.deleteRule(r)
		e.changedLocked()
		return noContent
	})
}

// searchRule implements GET /rules/search: the rule with exactly the given
// condition set.
func (e *Engine) searchRule(rq *request) *response {
	var errs []valErr
	name, hasName := rq.queryParam("setting")
	fv, hasFV := rq.queryParam("feature_values")
	switch {
	case !hasName:
		errs = append(errs, errMissing([]any{"query", "setting"}))
	case !patSettingName.match(name):
		errs = append(errs, errRegex([]any{"query", "setting"}, patSettingName))
	}
	switch {
	case !hasFV:
		errs = append(errs, errMissing([]any{"query", "feature_values"}))
	case !patSearchFV.match(fv):
		errs = append(errs, errRegex([]any{"query", "feature_values"}, patSearchFV))
	}
	if errs != nil {
		return validationResp(errs)
	}
	conds := map[string]string{}
	for _, part := range strings.Split(fv, ",") {
		k, v, _ := strings.Cut(part, ":")
		conds[k] = v
	}
	return e.withSetting(reading, name, settingNotFound, func(s *setting) *response {
		r := s.findRule(conds)
		if r == nil {
			return notFound()
		}
		return valueResp(http.StatusOK, obj(m("rule_id", num(r.id))))
	})
}

// putRuleValue implements PUT /rules/{id}/value and PATCH /rules/{id}.
func (e *Engine) putRuleValue(rq *request) *response {
	id, idOK := parseRuleID(rq.params["rule_id"])
	var paramErrs []valErr
	if !idOK {
		paramErrs = append(paramErrs, errInt([]any{"path", "rule_id"}))
	}
	f := bodyFields(rq, paramErrs)
	value, _ := f.any("value")
	if bad := f.invalid(); bad != nil {
		return bad
	}
	return e.withRule(writing, id, ruleValueMissing, func(r *rule) *response {
		if !r.setting.typ.Accepts(value) {
			return textResp(http.StatusBadRequest, "rule value is incompatible with setting type "+r.setting.typ.String())
		}
		r.value = value
		e.changedLocked()
		return noContent
	})
}
