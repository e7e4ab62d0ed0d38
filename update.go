package heksher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/wire"
)

// updateLoop runs an update attempt at once, then one each time the interval
// passes after the end of the previous attempt or a Reload asks (B29, B57).
// When the server advertises the watch (watch.go), the next attempt is sent
// at once, spaced, as a watch instead.
func (c *Client) updateLoop() {
	defer c.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var next nextUpdate
	for {
		if c.ctx.Err() != nil {
			return
		}
		started := time.Now()
		res, err, abandoned := c.attemptWith(c.ctx, next.wait)
		if c.ctx.Err() != nil {
			return
		}
		if abandoned {
			// A Reload or a new query ended the watch: ask again at once,
			// with a plain query (which answers a pending Reload).
			next = nextUpdate{}
			select {
			case <-c.trigger:
			default:
			}
			continue
		}
		next = c.afterAttempt(res, err, next.wait > 0, started)
		if next.pause <= 0 {
			select {
			case <-c.trigger:
				next.wait = 0 // a Reload: answered by a plain query
			default:
			}
			continue
		}
		timer.Reset(next.pause)
		select {
		case <-c.ctx.Done():
			return
		case <-c.trigger:
			timer.Stop()
			next.wait = 0
		case <-timer.C:
		}
	}
}

// requestUpdate asks the loop for an attempt now (or right after the one in
// flight); a watch in flight is ended for it.
func (c *Client) requestUpdate() {
	select {
	case c.trigger <- struct{}{}:
	default:
	}
	c.mu.Lock()
	c.endWatchLocked()
	c.mu.Unlock()
}

// Reload makes sure an update runs after the call and returns its result
// (B27, B57): it waits until every pending declaration was handled, asks
// for an update at once, and waits for an attempt that started after the
// call. The next periodic update comes one interval after it ends.
//
// # Errors
//
// [ErrNotRunning] before SetAsMain; [ErrClosed] after Close; the attempt's
// error ([*HTTPError], [*RequestError], [*DecodeError]); ctx's error (the
// loop keeps running).
func (c *Client) Reload(ctx context.Context) error {
	c.mu.Lock()
	started, closed := c.started, c.closed
	c.mu.Unlock()
	switch {
	case closed:
		return ErrClosed
	case !started:
		return ErrNotRunning
	}
	if err := c.waitDeclarations(ctx); err != nil {
		return wrapOp("reload: waiting for the declarations", err, "")
	}
	c.mu.Lock()
	target := c.attempts + 1
	c.mu.Unlock()
	c.requestUpdate()
	if err := c.waitAttempt(ctx, target); err != nil {
		return wrapOp("reload", err, "")
	}
	return nil
}

// waitAttempt waits until attempt number n (or a later one) has finished and
// returns the error of the last finished attempt.
func (c *Client) waitAttempt(ctx context.Context, n uint64) error {
	for {
		c.mu.Lock()
		finished, err, ch := c.finished, c.lastErr, c.attemptCh
		c.mu.Unlock()
		if finished >= n {
			return err
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

// attempt runs one plain update attempt (attemptWith).
func (c *Client) attempt(ctx context.Context) error {
	_, err, _ := c.attemptWith(ctx, 0)
	return err
}

// attemptWith runs one update attempt, a watch waiting up to wait when wait
// is positive, and reports it: status, Reload waiters, logs and events. A
// watch ended by endWatchLocked before its answer came is abandoned: it
// reports nothing and satisfies no Reload. Only the update loop calls it.
func (c *Client) attemptWith(ctx context.Context, wait time.Duration) (res applyResult, err error, abandoned bool) {
	c.mu.Lock()
	c.attempts++
	number := c.attempts
	names := c.queryNamesLocked()
	etag, chunks := c.etag, c.chunks
	if c.recheckMissingLocked(time.Now()) {
		// Ask about the settings missing on the service again: a plain
		// query naming every tracked setting.
		names, etag, chunks, wait = sortedKeys(c.tracked), "", nil, 0
	}
	rctx := ctx
	if wait > 0 && (etag == "" || len(c.trigger) > 0) {
		wait = 0 // nothing to differ from, or a Reload waits: a plain query
	}
	if wait > 0 {
		var cancel context.CancelCauseFunc
		rctx, cancel = c.watchContext(ctx)
		defer cancel(nil)
	}
	c.mu.Unlock()
	start := time.Now()
	c.log.Debug("heksher reload started")
	res, err = c.fetchAndApply(rctx, names, etag, chunks, wait)
	if wait > 0 {
		c.mu.Lock()
		c.watchCancel = nil
		c.mu.Unlock()
		if err != nil && ctx.Err() == nil && errors.Is(context.Cause(rctx), errWatchEnded) {
			return applyResult{}, nil, true
		}
	}
	// Settings deleted on the service: leave them out and ask again at once,
	// at most once per query of the update (each retry drops a name, so a
	// server answering 404 for every name in turn cannot make it spin).
	if gone := notSettingNames(err, names); gone != nil && ctx.Err() == nil {
		for retries := len(c.updateQueries(names)); gone != nil && retries > 0 && ctx.Err() == nil; retries-- {
			names = c.markMissing(gone, err)
			res, err = c.fetchAndApply(ctx, names, "", nil, 0)
			gone = notSettingNames(err, names)
		}
		if gone != nil {
			c.markMissing(gone, err) // the next update leaves them out; this one failed
		}
	}
	if err == nil {
		c.answeredMissing(names)
	}
	if err != nil && c.cfg.degraded && ctx.Err() == nil {
		// A degraded start serves the last saved answer until the service
		// is back.
		c.loadSnapshotOnce()
	}
	end := time.Now()
	if ctx.Err() != nil && err != nil {
		err = wrapOp("update", ctx.Err(), "")
	}

	c.mu.Lock()
	c.finished = number
	c.lastErr = err
	close(c.attemptCh)
	c.attemptCh = make(chan struct{})
	st := &c.status
	st.LastAttempt = end
	st.Attempts++
	var failures int
	var lastSuccess time.Time
	if err == nil {
		st.ConsecutiveFailures, st.LastError, st.LastSuccess = 0, nil, end
		st.Origin = OriginService
		if res.notModified {
			st.LastResult = ResultNotModified
		} else {
			st.LastResult = ResultOK
		}
		st.ETag = c.etag
	} else {
		st.ConsecutiveFailures++
		st.LastError, st.LastResult = err, ResultError
		failures, lastSuccess = st.ConsecutiveFailures, st.LastSuccess
	}
	c.mu.Unlock()

	if err != nil {
		if ctx.Err() != nil {
			return res, err, false // closing: not an update failure worth reporting
		}
		level := slog.LevelError
		if number == 1 && !c.cfg.degraded {
			level = slog.LevelDebug // SetAsMain returns it: said once
		}
		c.logFailure(level, "error during heksher update", err)
		c.publish(func(h event.Header) event.Event {
			return &event.UpdateError{Header: h, Err: err, ConsecutiveFailures: failures, LastSuccess: lastSuccess, Duration: end.Sub(start)}
		})
		return res, err, false
	}
	for _, ch := range res.changes {
		c.publish(func(h event.Header) event.Event { ch.Header = h; return ch })
	}
	c.publish(func(h event.Header) event.Event {
		return &event.UpdateOK{Header: h, NotModified: res.notModified, ETag: res.etag, Changed: res.changed, Rejected: res.rejected, Duration: end.Sub(start)}
	})
	return res, nil, false
}

type applyResult struct {
	watchMax    time.Duration // the answer advertised the watch, held up to this long
	watched     bool          // the server held the query as a watch (Preference-Applied)
	notModified bool
	etag        string
	changed     []string
	changes     []*event.SettingChanged
	rejected    []event.RejectedValue
}

// queryChunk is one query of an update split into several (see
// [WithMaxQueryURL]).
type queryChunk struct {
	etag string
	body []byte // the last answer, kept only for the snapshot file
}

// updateQueries builds the queries of an update (B34, B63): one
// naming every tracked setting, or, when its URL would pass the client's
// limit, several naming consecutive ranges of them. Each is encoded as
// url.Values.Encode would encode it.
func (c *Client) updateQueries(names []string) []string {
	prefix := "context_filters=" + url.QueryEscape(c.tracking.Load().filters()) + "&include_metadata=false&settings="
	budget := c.cfg.maxQueryURL - len(c.endpoint(wire.PathQuery, prefix))
	var queries []string
	var b strings.Builder
	b.WriteString(prefix)
	n := 0 // names in b
	for _, name := range names {
		esc := url.QueryEscape(name)
		if n > 0 && b.Len()-len(prefix)+len(",")*3+len(esc) > budget {
			queries = append(queries, b.String())
			b.Reset()
			b.WriteString(prefix)
			n = 0
		}
		if n > 0 {
			b.WriteString("%2C")
		}
		b.WriteString(esc)
		n++
	}
	return append(queries, b.String())
}

// fetchAndApply runs the queries of an update and applies their answers. A
// positive wait makes the query a watch (with an ETag to differ from, and
// when the update is one query): its deadline is the request timeout plus
// the wait. An update split into several queries is never a watch, and
// reports no watch advertised.
func (c *Client) fetchAndApply(ctx context.Context, names []string, etag string, chunks map[string]queryChunk, wait time.Duration) (applyResult, error) {
	queries := c.updateQueries(names)
	if len(queries) > 1 {
		return c.fetchAndApplySplit(ctx, queries, etag, chunks)
	}
	var hdr http.Header
	if etag != "" {
		hdr = http.Header{"If-None-Match": {etag}}
		if wait > 0 {
			watchHeader(hdr, wait)
		}
	} else {
		wait = 0
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.requestTimeout+wait)
	defer cancel()
	a, err := c.doRaw(rctx, http.MethodGet, wire.PathQuery, queries[0], nil, hdr)
	if err != nil {
		return applyResult{}, err
	}
	watchMax := parseWatch(a.header.Get(wire.HeaderWatch))
	watched := wait > 0 && a.header.Get("Preference-Applied") != ""
	if a.status == http.StatusNotModified {
		c.log.Debug("heksher reload not necessary")
		return applyResult{notModified: true, etag: etag, watchMax: watchMax, watched: watched}, nil
	}
	if !a.ok() {
		return applyResult{}, a.httpError(http.MethodGet)
	}
	newTag := a.header.Get("ETag")
	res, err := c.applyBodyParts(a.url, [][]byte{a.body}, newTag, nil, false)
	if err != nil {
		return res, err
	}
	res.watchMax, res.watched = watchMax, watched
	if c.cfg.snapshotPath != "" {
		if err := c.saveSnapshot(a.body, newTag); err != nil {
			c.log.Warn("heksher: saving the snapshot failed", "path", c.cfg.snapshotPath, "error", err)
		}
	}
	return res, nil
}

// maxUpdateBody bounds the answers of the queries of one update together,
// as maxBody bounds one answer.
var maxUpdateBody = maxBody

// fetchAndApplySplit runs an update split into queries: each is sent with
// its own ETag (none when etag is empty: the whole answer is wanted), and
// the answers that changed are applied together once all have come. The
// update fails, applying nothing, when any query fails.
func (c *Client) fetchAndApplySplit(ctx context.Context, queries []string, etag string, chunks map[string]queryChunk) (applyResult, error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.requestTimeout)
	defer cancel()
	next := make(map[string]queryChunk, len(queries))
	tags := make([]string, len(queries))
	var bodies [][]byte
	held := 0 // bytes of the answers held, bounded like one answer
	from := ""
	for i, q := range queries {
		old, known := chunks[q]
		var hdr http.Header
		if etag != "" && known && old.etag != "" {
			hdr = http.Header{"If-None-Match": {old.etag}}
		}
		a, err := c.doRaw(rctx, http.MethodGet, wire.PathQuery, q, nil, hdr)
		if err != nil {
			return applyResult{}, err
		}
		switch {
		case a.status == http.StatusNotModified && hdr != nil:
			next[q] = old
		case a.ok():
			if held += len(a.body); held > maxUpdateBody {
				return applyResult{}, &DecodeError{URL: a.url, What: "query answers",
					Err: fmt.Errorf("the answers of one update pass %d bytes", maxUpdateBody)}
			}
			ch := queryChunk{etag: a.header.Get("ETag")}
			if c.cfg.snapshotPath != "" {
				ch.body = a.body
			}
			next[q] = ch
			bodies = append(bodies, a.body)
			if from == "" {
				from = a.url
			}
		default:
			return applyResult{}, a.httpError(http.MethodGet)
		}
		tags[i] = next[q].etag
	}
	newTag := strings.Join(tags, ", ")
	if bodies == nil {
		c.log.Debug("heksher reload not necessary")
		return applyResult{notModified: true, etag: etag}, nil
	}
	res, err := c.applyBodyParts(from, bodies, newTag, next, false)
	if err != nil {
		return res, err
	}
	if c.cfg.snapshotPath != "" {
		c.saveSplitSnapshot(queries, next, newTag)
	}
	return res, nil
}

// saveSplitSnapshot saves the answers of every query of a split update as
// one answer.
func (c *Client) saveSplitSnapshot(queries []string, chunks map[string]queryChunk, etag string) {
	var all wire.QueryResponse
	var err error
	for _, q := range queries {
		var part wire.QueryResponse
		if part, err = wire.DecodeQuery(chunks[q].body); err != nil {
			break
		}
		all.Settings = append(all.Settings, part.Settings...)
	}
	var body []byte
	if err == nil {
		body, err = all.MarshalJSON()
	}
	if err == nil {
		err = c.saveSnapshot(body, etag)
	}
	if err != nil {
		c.log.Warn("heksher: saving the snapshot failed", "path", c.cfg.snapshotPath, "error", err)
	}
}

// applyBody decodes a query answer and applies it under the modification
// lock, in the answer's order (B60–B61). The ETag is stored only
// once the answer was applied. With fromSnapshot, settings whose declaration
// is waiting for a retry are served too.
func (c *Client) applyBody(from string, body []byte, etag string, fromSnapshot bool) (applyResult, error) {
	return c.applyBodyParts(from, [][]byte{body}, etag, nil, fromSnapshot)
}

// applyBodyParts is applyBody for the answers of the queries of one update,
// applied together; chunks (nil for an update of one query) replaces the
// client's queries' ETags along with etag.
func (c *Client) applyBodyParts(from string, bodies [][]byte, etag string, chunks map[string]queryChunk, fromSnapshot bool) (applyResult, error) {
	var q wire.QueryResponse
	for _, body := range bodies {
		part, err := wire.DecodeQuery(body)
		if err != nil {
			return applyResult{}, &DecodeError{URL: from, What: "query answer", Err: err}
		}
		if q.Settings == nil {
			q = part
		} else {
			q.Settings = append(q.Settings, part.Settings...)
		}
	}
	c.mu.Lock()
	handles := make([]settingHandle, len(q.Settings))
	for i, qs := range q.Settings {
		handles[i] = c.tracked[qs.Name]
		if handles[i] == nil {
			if declared, ok := c.canonical[qs.Name]; ok {
				handles[i] = c.tracked[declared]
			}
		}
		if handles[i] == nil && fromSnapshot {
			handles[i] = c.untrackedLocked(qs.Name)
		}
	}
	c.mu.Unlock()

	prepared := make([]preparedUpdate, len(q.Settings))
	for i, qs := range q.Settings {
		if handles[i] == nil {
			// Q-ALIAS-KEY: the service keys its answer by canonical name; a
			// key the client does not track is skipped, never fatal.
			c.log.Warn("heksher: query answer names a setting the client does not track; skipped", "setting", qs.Name)
			continue
		}
		p, err := safePrepare(handles[i], c, qs, c.log)
		if err != nil {
			return applyResult{}, wrapOp("update: applying "+qs.Name+" from "+withoutQuery(from), err, "")
		}
		prepared[i] = p
	}

	var res applyResult
	res.etag = etag
	c.modLock.Lock()
	if fromSnapshot && c.serviceApplied {
		// The service answered meanwhile: its data is newer.
		c.modLock.Unlock()
		return applyResult{}, errSnapshotStale
	}
	for _, p := range prepared {
		if p != nil {
			p.commit()
		}
	}
	c.mu.Lock()
	c.etag, c.chunks = etag, chunks
	if fromSnapshot {
		c.status.Origin, c.status.ETag = OriginSnapshot, etag
	}
	c.mu.Unlock()
	if !fromSnapshot {
		c.serviceApplied = true
	}
	c.modLock.Unlock()
	if !fromSnapshot {
		c.log.Info("heksher reload done")
	}

	for i, p := range prepared {
		if p == nil {
			continue
		}
		res.rejected = append(res.rejected, p.rejected()...)
		if !p.hasChanged() {
			continue
		}
		name := q.Settings[i].Name
		res.changed = append(res.changed, name)
		if c.disp == nil {
			continue // nobody receives SettingChanged: skip building its views
		}
		old, cur, _ := p.changed()
		res.changes = append(res.changes, &event.SettingChanged{Setting: name, Old: old, New: cur})
	}
	return res, nil
}

// untrackedLocked finds a setting by name among those not declared yet
// (queued, in flight, or waiting for a retry), the latest one first, so that
// a snapshot can serve them while the service is down. c.mu must be held.
func (c *Client) untrackedLocked(name string) settingHandle {
	for i := len(c.queue) - 1; i >= 0; i-- {
		if c.queue[i].settingName() == name {
			return c.queue[i]
		}
	}
	if c.inFlight != nil && c.inFlight.settingName() == name {
		return c.inFlight
	}
	for s := range c.retrying {
		if s.settingName() == name {
			return s
		}
	}
	return nil
}

var errSnapshotStale = errors.New("heksher: the service answered before the snapshot was loaded")

// safePrepare turns a panic while converting (a validator's, say) into an
// update failure.
func safePrepare(h settingHandle, from supplier, qs wire.QuerySetting, log *slog.Logger) (p preparedUpdate, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic while converting: %v", r)
		}
	}()
	return h.prepareUpdate(from, qs.Rules, qs.DefaultValue, log)
}
