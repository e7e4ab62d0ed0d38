package server

import "net/http"

// Every API handler runs the same steps between reading its request and
// its own logic, in the reference's order:
//
//  1. validate the request: FastAPI checks parameters and body before the
//     endpoint runs, so a malformed request gets its 422 without the
//     database (bodyFields, fields.invalid);
//  2. answer 500 while the database is down (SetDatabaseDown): the
//     endpoint's first query fails;
//  3. lock the state, shared or alone;
//  4. look up the setting or rule the request names, with the not-found
//     answer the reference gives at that endpoint.
//
// Steps 2 to 4 are withState, withSetting and withRule (withPathRule adds
// step 1 for requests named by {rule_id} alone); a handler passes its own
// logic as a function that runs with the lock held.

// lockMode says how a handler holds Engine.mu.
type lockMode int

const (
	// reading shares the lock with other readers: the handler changes
	// nothing.
	reading lockMode = iota
	// writing holds the lock alone: the handler may change the state and
	// calls changedLocked when it does.
	writing
)

// withState runs fn with the state locked in mode. Call it only once the
// request is known to be valid: while the database is down it answers 500
// (error kind X) and fn does not run. A writing fn whose change could not
// be written to the data file is rolled back and answered 500 too.
func (e *Engine) withState(mode lockMode, fn func() *response) *response {
	if e.dbDown.Load() {
		return internalError()
	}
	if mode == writing {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.settleLocked(fn())
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	return fn()
}

// withSetting is withState for a request about one setting: name is a
// canonical name or an alias. When no setting answers to it, the answer
// is missing(name); fn runs with the setting otherwise.
func (e *Engine) withSetting(mode lockMode, name string, missing func(name string) *response, fn func(s *setting) *response) *response {
	return e.withState(mode, func() *response {
		s := e.st.resolve(name)
		if s == nil {
			return missing(name)
		}
		return fn(s)
	})
}

// withRule is withState for a request about one rule. When no rule has
// id, the answer is missing(); fn runs with the rule otherwise.
func (e *Engine) withRule(mode lockMode, id int64, missing func() *response, fn func(r *rule) *response) *response {
	return e.withState(mode, func() *response {
		r := e.st.rules[id]
		if r == nil {
			return missing()
		}
		return fn(r)
	})
}

// withPathRule is the whole prologue of a request whose only input is the
// {rule_id} path parameter: 422 for an id that is not an integer, then
// withRule with the empty 404.
func (e *Engine) withPathRule(rq *request, mode lockMode, fn func(r *rule) *response) *response {
	id, ok := parseRuleID(rq.params["rule_id"])
	if !ok {
		return validationResp([]valErr{errInt([]any{"path", "rule_id"})})
	}
	return e.withRule(mode, id, notFound, fn)
}

// The reference's not-found answers differ by endpoint (reference bug 15);
// clients see them, so each is reproduced where the reference gives it.

// settingMissing is the usual 404 for a setting name (or alias) that no
// setting answers to.
func settingMissing(name string) *response {
	return textResp(http.StatusNotFound, "the setting "+name+" does not exist")
}

// settingNameNotFound is DELETE /settings/{name}'s 404.
func settingNameNotFound(string) *response {
	return textResp(http.StatusNotFound, "setting name not found")
}

// settingDoesNotExist is PUT /settings/{name}/name's 404.
func settingDoesNotExist(string) *response {
	return textResp(http.StatusNotFound, "setting does not exist")
}

// ruleSettingMissing is POST /rules' answer for an unknown setting: 422
// text, or 404 with Fixes.UnknownRuleSetting.
func (e *Engine) ruleSettingMissing(name string) *response {
	status := http.StatusUnprocessableEntity
	if e.opts.Fix.UnknownRuleSetting {
		status = http.StatusNotFound
	}
	return textResp(status, "setting not found with name "+name)
}

// notFound is the 404 with no body (error kind E) that the feature, rule
// and rule-search endpoints give.
func notFound() *response { return emptyResp(http.StatusNotFound) }

// settingNotFound is notFound for a setting: GET /rules/search's answer
// for an unknown setting.
func settingNotFound(string) *response { return notFound() }

// ruleValueMissing is PUT /rules/{id}/value's 404: text with an empty
// body.
func ruleValueMissing() *response { return textResp(http.StatusNotFound, "") }
