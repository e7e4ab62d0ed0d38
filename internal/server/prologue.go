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
// Steps 2 to 4 are withState, withSetting and withRule; a handler passes
// its own logic as a function that runs with the lock held.

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
// (error kind X) and fn does not run.
func (e *Engine) withState(mode lockMode, fn func() *response) *response {
	if e.dbDown.Load() {
		return internalError()
	}
	if mode == writing {
		e.mu.Lock()
		defer e.mu.Unlock()
	} else {
		e.mu.RLock()
		defer e.mu.RUnlock()
	}
	return fn()
}

// notFound is the 404 with no body (error kind E) that the feature, rule
// and rule-search endpoints give.
func notFound() *response { return emptyResp(http.StatusNotFound) }

// settingMissing is the usual 404 for a setting name (or alias) that no
// setting answers to.
func settingMissing(name string) *response {
	return textResp(http.StatusNotFound, "the setting "+name+" does not exist")
}
