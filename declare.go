package heksher

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/wire"
)

// declarationLoop declares queued settings one at a time, in FIFO order
// (docs/CONFORMANCE.md: declaration order), until the client is closed.
func (c *Client) declarationLoop() {
	defer c.wg.Done()
	var retryTimer *time.Timer
	var retryC <-chan time.Time
	retries := 0
	defer func() {
		if retryTimer != nil {
			retryTimer.Stop()
		}
	}()
	for {
		if c.ctx.Err() != nil {
			return
		}
		s, ok := c.nextDeclaration()
		if ok {
			res := c.declareOne(s)
			c.finishDeclaration(s, res)
			if res.retry && retryC == nil {
				// One timer per round of retries: the wait grows with the
				// rounds, not with the number of failed settings.
				retries++
				retryTimer = time.NewTimer(c.cfg.backoff.Delay(retries))
				retryC = retryTimer.C
			} else if res.retried && res.tracked {
				retries = 0
				c.requestUpdate() // a late declaration: fetch its values now
			}
			continue
		}
		select {
		case <-c.ctx.Done():
			return
		case <-c.declWake:
		case <-retryC:
			retryC = nil
			c.mu.Lock()
			c.queue = append(c.queue, c.retry...)
			c.retry = nil
			c.mu.Unlock()
		}
	}
}

// nextDeclaration pops the queue's head and marks it in flight; when the
// queue is empty it signals idleness.
func (c *Client) nextDeclaration() (settingHandle, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		select {
		case <-c.declIdle:
		default:
			close(c.declIdle)
		}
		return nil, false
	}
	s := c.queue[0]
	c.queue[0] = nil
	c.queue = c.queue[1:]
	c.declBusy = true
	c.inFlight = s
	return s, true
}

type declResult struct {
	tracked  bool
	conflict *ConflictError // the service answered 409
	retry    bool           // degraded start: failed while the service was unreachable
	retried  bool           // this was a retry
}

func (c *Client) finishDeclaration(s settingHandle, res declResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.declBusy = false
	c.inFlight = nil
	if res.tracked {
		// A setting tracked later under the same name replaces the earlier
		// one, as in heksher-py.
		if prev, ok := c.tracked[s.settingName()]; ok && prev != s {
			// The query is the same as before, so the service would answer
			// 304 and the new object would never get its rules: ask for
			// the whole answer again.
			c.etag = ""
		}
		if prev := c.tracked[s.settingName()]; prev != s {
			c.endWatchLocked() // the query changes: a watch would not bring its values
		}
		c.tracked[s.settingName()] = s
		c.rejoinLocked(s.settingName())
	}
	if res.tracked || res.conflict != nil {
		// The service answered: its answer says whether the name is in
		// conflict now.
		if res.conflict != nil {
			c.conflicts[s.settingName()] = res.conflict
		} else {
			delete(c.conflicts, s.settingName())
		}
		s.setConflict(res.conflict)
	}
	if res.retry {
		c.retry = append(c.retry, s)
		c.retrying[s] = struct{}{}
	} else {
		delete(c.retrying, s)
	}
	if len(c.queue) == 0 {
		select {
		case <-c.declIdle:
		default:
			close(c.declIdle)
		}
	}
}

// unprocessedLocked lists the settings c has not declared yet: queued
// (in flight first, then in queue order) and awaiting a retry (sorted). A
// setting that failed before counts as awaiting a retry even once its timer
// has put it back in the queue. c.mu must be held.
func (c *Client) unprocessedLocked() (queued, retrying []string) {
	if c.inFlight != nil {
		if _, ok := c.retrying[c.inFlight]; !ok {
			queued = append(queued, c.inFlight.settingName())
		}
	}
	for _, s := range c.queue {
		if _, ok := c.retrying[s]; !ok {
			queued = append(queued, s.settingName())
		}
	}
	for s := range c.retrying {
		retrying = append(retrying, s.settingName())
	}
	slices.Sort(retrying)
	return queued, retrying
}

// waitDeclarations waits until the queue is drained and nothing is in
// flight.
func (c *Client) waitDeclarations(ctx context.Context) error {
	for {
		c.mu.Lock()
		idle := len(c.queue) == 0 && !c.declBusy
		if !idle {
			// The queue can fill without register (settings handed over by
			// the main slot, retries put back): a channel closed by an
			// earlier drain would make this loop spin, starving the
			// declaration loop on one CPU. Whoever drains the queue next
			// closes the fresh one.
			select {
			case <-c.declIdle:
				c.declIdle = make(chan struct{})
			default:
			}
		}
		ch := c.declIdle
		c.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.ctx.Done():
			return ErrClosed
		}
	}
}

// declareOne declares s and handles the answer as heksher-py does (B38–B40).
func (c *Client) declareOne(s settingHandle) (res declResult) {
	c.mu.Lock()
	_, res.retried = c.retrying[s]
	c.mu.Unlock()
	decl := s.declaration()
	name := decl.Name
	ev := &event.Declared{Setting: name, Version: decl.Version}
	log := c.log.With("setting", name)
	defer func() {
		ev.Tracked = res.tracked
		if ev.Err != nil && (!res.tracked || res.conflict != nil) {
			c.mu.Lock()
			if !c.startDone {
				c.startErrs = append(c.startErrs, &DeclarationError{Setting: name, Err: ev.Err})
			}
			c.mu.Unlock()
		}
		c.publish(func(h event.Header) event.Event { ev.Header = h; return ev })
	}()
	fail := func(err error) declResult {
		var he *HTTPError
		if !errors.As(err, &he) {
			// An error status was logged as such already: one failure,
			// one line.
			c.logFailure(slog.LevelError, "setting declaration failed", err, "setting", name)
		}
		ev.Err = err
		// A declaration cut short by Close is kept for a retry too: it was
		// never answered, and a later switch of the main client must see
		// it as unprocessed (see unprocessedError).
		retry := c.cfg.degraded && (!errors.As(err, &he) || he.StatusCode >= 500)
		return declResult{retry: retry, retried: res.retried}
	}
	body, err := decl.Marshal()
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.requestTimeout)
	defer cancel()
	a, err := c.do(ctx, http.MethodPost, wire.PathDeclare, nil, body, http.Header{"Content-Type": {"application/json"}})
	if err != nil {
		return fail(err)
	}
	if a.status == http.StatusConflict {
		return c.declarationConflict(name, a, ev, log, res.retried)
	}
	if a.status >= 400 {
		he := a.httpError(http.MethodPost)
		c.logFailure(slog.LevelError, "error when declaring setting", he, "setting", name)
		return fail(he)
	}
	r, err := wire.DecodeDeclare(a.body)
	if errors.Is(err, wire.ErrNotJSON) {
		if a.ok() {
			log.Warn("unexpected response from service", "status", a.status, "body", string(a.body))
		}
		ev.Err = &DecodeError{URL: a.url, What: "declaration answer", Err: err}
		return declResult{retried: res.retried}
	}
	if err != nil {
		return fail(&DecodeError{URL: a.url, What: "declaration answer", Err: err})
	}
	ev.Outcome, ev.LatestVersion, ev.Differences = r.Outcome, r.LatestVersion, r.Differences
	switch {
	case !r.HasOutcome:
		log.Warn("unexpected outcome from service", "status", a.status, "body", string(a.body))
	case r.Outcome == wire.OutcomeOutdated:
		if err := c.handleOutdated(s, decl.Version, r, log); err != nil {
			return fail(err)
		}
	case r.Outcome == wire.OutcomeCreated, r.Outcome == wire.OutcomeUpToDate, r.Outcome == wire.OutcomeUpgraded,
		r.Outcome == wire.OutcomeMismatch, r.Outcome == wire.OutcomeRejected, r.Outcome == wire.OutcomeOutOfDate:
		// Nothing: the differences of these outcomes describe the
		// service's previous values.
	default:
		log.Warn("unexpected outcome from service", "outcome", r.Outcome, "status", a.status)
	}
	return declResult{tracked: true, retried: res.retried}
}

// declarationConflict handles a 409 (the service refused the declaration): one ERROR line
// saying why, the conflict recorded for Status, the setting and strict
// mode, and the setting tracked as the reference does (unless the answer is
// not JSON), so that it gets the service's values where they fit.
func (c *Client) declarationConflict(name string, a answer, ev *event.Declared, log *slog.Logger, retried bool) declResult {
	r, err := wire.DecodeDeclare(a.body)
	ce := &ConflictError{Setting: name, Outcome: r.Outcome, Reason: conflictReason(r, a.body)}
	log.Error("conflict when declaring setting", "outcome", r.Outcome, "reason", ce.Reason)
	ev.Outcome, ev.LatestVersion, ev.Differences = r.Outcome, r.LatestVersion, r.Differences
	ev.Err = ce
	return declResult{tracked: err == nil, conflict: ce, retried: retried}
}

// conflictReason renders what a 409 answer says differs: each difference
// as "attribute: the service has value" or its message, else the answer's
// "detail", else its body.
func conflictReason(r wire.DeclareResponse, body []byte) string {
	var parts []string
	diffs, _ := wire.ParseDifferences(r.Differences)
	for _, d := range diffs {
		switch {
		case d.Message != "":
			parts = append(parts, d.Message)
		case d.Attribute != "":
			parts = append(parts, d.Attribute+": the service has "+string(compactJSON(d.LatestValue)))
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, "; ")
	}
	var detail struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &detail) == nil && detail.Detail != "" {
		return detail.Detail
	}
	if len(body) == 0 {
		return "the service gave no reason"
	}
	return truncateBody(body)
}

// handleOutdated logs an outdated answer and applies its default_value
// difference as the server default (docs/CONFORMANCE.md B38–B39).
func (c *Client) handleOutdated(s settingHandle, version string, r wire.DeclareResponse, log *slog.Logger) error {
	sameMajor := false
	if !r.HasLatestVersion {
		log.Error("outdated setting without latest version", "differences", string(r.Differences), "version", version)
	} else if major, _, _ := strings.Cut(r.LatestVersion, "."); major != "" {
		if m, err := strconv.Atoi(major); err == nil && m == s.versionMajor() {
			sameMajor = true
		}
	}
	attrs := []any{"differences", string(r.Differences), "latest_version", r.LatestVersion, "version", version}
	switch {
	case !r.HasLatestVersion:
		// Logged above, with the differences: the majors are taken as
		// different, which needs no second line.
	case sameMajor:
		log.Info("setting is outdated", attrs...)
	default:
		log.Warn("setting is outdated by a major version", attrs...)
	}
	diffs, err := wire.ParseDifferences(r.Differences)
	if err != nil {
		return err
	}
	for _, d := range diffs {
		if d.Attribute == "name" {
			// The setting was renamed on the service: query answers are
			// keyed by the new (canonical) name.
			var canonical string
			if json.Unmarshal(d.LatestValue, &canonical) == nil && canonical != "" && canonical != s.settingName() {
				c.mu.Lock()
				c.canonical[canonical] = s.settingName()
				c.mu.Unlock()
			}
			continue
		}
		if d.Attribute != "default_value" {
			continue
		}
		coercions, err := s.applyDeclaredDefault(d.LatestValue, c.log)
		switch {
		case err != nil:
			log.Warn("server default was discarded due to coercion error during declaration", "value", string(d.LatestValue), "error", err)
		case len(coercions) > 0:
			log.Warn("server default was coerced to local value during declaration", "value", string(d.LatestValue), "coercions", coercions)
		}
	}
	return nil
}
