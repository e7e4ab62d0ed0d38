package server

import (
	"net/http"
	"slices"
)

// health answers 200 {"version": ...}; with SetDatabaseDown the
// reference's 500 with the same body.
func (e *Engine) health(rq *request) *response {
	status := http.StatusOK
	if e.dbDown.Load() {
		status = http.StatusInternalServerError
	}
	return valueResp(status, obj(m("version", str(e.opts.Version))))
}

func (e *Engine) listFeatures(rq *request) *response {
	return e.withState(reading, func() *response {
		return valueResp(http.StatusOK, obj(m("context_features", strArr(e.st.features))))
	})
}

func (e *Engine) getFeature(rq *request) *response {
	return e.withState(reading, func() *response {
		i := e.st.featureIndex(rq.params["name"])
		if i < 0 {
			return notFound()
		}
		return valueResp(http.StatusOK, obj(m("index", num(int64(i)))))
	})
}

// addFeature appends a context feature. Unlike the reference it validates
// the name (reference bug 10, docs/DEVSERVER.md) and accepts the very first feature (9).
func (e *Engine) addFeature(rq *request) *response {
	f := bodyFields(rq, nil)
	name, _ := f.str("context_feature", true, patFeatureName)
	if bad := f.invalid(); bad != nil {
		return bad
	}
	return e.withState(writing, func() *response {
		if e.st.featureIndex(name) >= 0 {
			return textResp(http.StatusConflict, "context feature already exists")
		}
		e.st.features = append(e.st.features, name)
		e.changedLocked()
		return noContent
	})
}

// deleteFeature removes an unused context feature. A feature used by
// several settings gets the same 409 as one used by a single setting
// (reference bug 11).
func (e *Engine) deleteFeature(rq *request) *response {
	name := rq.params["name"]
	return e.withState(writing, func() *response {
		i := e.st.featureIndex(name)
		if i < 0 {
			return notFound()
		}
		if len(e.st.usedBy(name)) > 0 {
			return textResp(http.StatusConflict, "context feature can't be deleted, there is at least one setting configured by it")
		}
		e.st.features = slices.Delete(e.st.features, i, i+1)
		e.changedLocked()
		return noContent
	})
}

// moveFeature moves a feature just after or before another; moves across
// several positions work (reference bug 12, docs/DEVSERVER.md). The body is either
// {"to_after": name} or {"to_before": name}; like the reference's union
// model, to_after is tried first and the errors of both are reported when
// neither fits.
func (e *Engine) moveFeature(rq *request) *response {
	if !rq.hasBody || len(rq.body) == 0 {
		return validationResp([]valErr{errMissing([]any{"body"})})
	}
	body, errs := decodeBody(rq.body, rq.contentType, rq.hasBody)
	if errs != nil {
		if errs[0].typ == "type_error.dict" { // once per union member
			errs = append(errs, errs[0])
		}
		return validationResp(errs)
	}
	f := newFields(body)
	target, hasAfter := f.str("to_after", true, nil)
	if !hasAfter {
		before := newFields(body)
		var ok bool
		if target, ok = before.str("to_before", true, nil); !ok {
			return validationResp(append(f.errs, before.errs...))
		}
	}
	name := rq.params["name"]
	return e.withState(writing, func() *response {
		from := e.st.featureIndex(name)
		if from < 0 || e.st.featureIndex(target) < 0 {
			return notFound()
		}
		if target == name {
			return noContent
		}
		rest := slices.Delete(slices.Clone(e.st.features), from, from+1)
		pos := slices.Index(rest, target)
		if hasAfter {
			pos++
		}
		moved := slices.Insert(rest, pos, name)
		if slices.Equal(moved, e.st.features) {
			return noContent
		}
		e.st.features = moved
		e.changedLocked()
		return noContent
	})
}
