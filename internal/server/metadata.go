package server

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/heksher-go/heksher/internal/htype"
)

// settingMetaWrite validates a setting-metadata write: the body (with
// version and, per endpoint, metadata or value), the {key} path parameter,
// the setting and the version; then applies change under the lock.
func (e *Engine) settingMetaWrite(rq *request, withMeta, withValue bool, change func(s *setting, meta []htype.Member, value htype.Value)) *response {
	var errs []valErr
	key, hasKey := rq.params["key"]
	if hasKey && !patMetadataKey.match(key) {
		errs = append(errs, errRegex([]any{"path", "key"}, patMetadataKey))
	}
	f := bodyFields(rq, errs)
	var meta []htype.Member
	var value htype.Value
	if withMeta {
		// metadata defaults to {} on these endpoints
		meta, _ = f.metadata("metadata", false)
		if meta == nil {
			meta = []htype.Member{}
		}
	}
	if withValue {
		value, _ = f.any("value")
		value = jsonbValue(value)
	}
	ver, _ := f.version("version", true, "")
	if bad := f.invalid(); bad != nil {
		return bad
	}
	name := rq.params["name"]
	return e.withSetting(writing, name, settingMissing, func(s *setting) *response {
		if parseVersion(ver).cmp(parseVersion(s.version)) <= 0 {
			return textResp(http.StatusConflict, fmt.Sprintf("The setting %s already has a newer version (%s)", name, s.version))
		}
		change(s, meta, value)
		s.version = ver
		e.changedLocked()
		return noContent
	})
}

func (e *Engine) getSettingMeta(rq *request) *response {
	return e.withSetting(reading, rq.params["name"], settingMissing, func(s *setting) *response {
		return valueResp(http.StatusOK, obj(m("metadata", metaValue(s.meta))))
	})
}

func (e *Engine) mergeSettingMeta(rq *request) *response {
	return e.settingMetaWrite(rq, true, false, func(s *setting, meta []htype.Member, _ htype.Value) {
		s.meta = mergeMeta(s.meta, meta)
	})
}

func (e *Engine) replaceSettingMeta(rq *request) *response {
	return e.settingMetaWrite(rq, true, false, func(s *setting, meta []htype.Member, _ htype.Value) {
		s.meta = slices.Clone(meta)
	})
}

func (e *Engine) clearSettingMeta(rq *request) *response {
	return e.settingMetaWrite(rq, false, false, func(s *setting, _ []htype.Member, _ htype.Value) {
		s.meta = nil
	})
}

func (e *Engine) putSettingMetaKey(rq *request) *response {
	key := rq.params["key"]
	return e.settingMetaWrite(rq, false, true, func(s *setting, _ []htype.Member, value htype.Value) {
		s.meta = mergeMeta(s.meta, []htype.Member{{Key: key, Value: value}})
	})
}

func (e *Engine) deleteSettingMetaKey(rq *request) *response {
	key := rq.params["key"]
	return e.settingMetaWrite(rq, false, false, func(s *setting, _ []htype.Member, _ htype.Value) {
		s.meta = deleteMetaKey(s.meta, key)
	})
}

// ruleMetaWrite validates a rule-metadata write and applies change.
// skipEmpty reproduces the reference answering 204 to a merge of {} without
// looking the rule up (reference bug 14, docs/DEVSERVER.md).
func (e *Engine) ruleMetaWrite(rq *request, withMeta, withValue, needBody, skipEmpty bool, change func(r *rule, meta []htype.Member, value htype.Value)) *response {
	var errs []valErr
	id, idOK := parseRuleID(rq.params["rule_id"])
	if !idOK {
		errs = append(errs, errInt([]any{"path", "rule_id"}))
	}
	key, hasKey := rq.params["key"]
	if hasKey && !patMetadataKey.match(key) {
		errs = append(errs, errRegex([]any{"path", "key"}, patMetadataKey))
	}
	var meta []htype.Member
	var value htype.Value
	if needBody {
		f := bodyFields(rq, errs)
		if withMeta {
			meta, _ = f.metadata("metadata", false) // defaults to {}
		}
		if withValue {
			value, _ = f.any("value")
			value = jsonbValue(value)
		}
		if bad := f.invalid(); bad != nil {
			return bad
		}
	} else if len(errs) > 0 {
		return validationResp(errs)
	}
	// Before the outage check: the reference answers without its database.
	if skipEmpty && len(meta) == 0 && !e.opts.Fix.EmptyRuleMetadataMerge {
		return noContent
	}
	return e.withRule(writing, id, notFound, func(r *rule) *response {
		change(r, meta, value)
		e.changedLocked()
		return noContent
	})
}

func (e *Engine) getRuleMeta(rq *request) *response {
	return e.withPathRule(rq, reading, func(r *rule) *response {
		return valueResp(http.StatusOK, obj(m("metadata", metaValue(r.meta))))
	})
}

func (e *Engine) mergeRuleMeta(rq *request) *response {
	return e.ruleMetaWrite(rq, true, false, true, true, func(r *rule, meta []htype.Member, _ htype.Value) {
		r.meta = mergeMeta(r.meta, meta)
	})
}

func (e *Engine) replaceRuleMeta(rq *request) *response {
	return e.ruleMetaWrite(rq, true, false, true, false, func(r *rule, meta []htype.Member, _ htype.Value) {
		r.meta = slices.Clone(meta)
	})
}

func (e *Engine) clearRuleMeta(rq *request) *response {
	return e.ruleMetaWrite(rq, false, false, false, false, func(r *rule, _ []htype.Member, _ htype.Value) {
		r.meta = nil
	})
}

func (e *Engine) putRuleMetaKey(rq *request) *response {
	key := rq.params["key"]
	return e.ruleMetaWrite(rq, false, true, true, false, func(r *rule, _ []htype.Member, value htype.Value) {
		r.meta = mergeMeta(r.meta, []htype.Member{{Key: key, Value: value}})
	})
}

func (e *Engine) deleteRuleMetaKey(rq *request) *response {
	key := rq.params["key"]
	return e.ruleMetaWrite(rq, false, false, false, false, func(r *rule, _ []htype.Member, _ htype.Value) {
		r.meta = deleteMetaKey(r.meta, key)
	})
}
