package relay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heksher-go/heksher/internal/server"
	"github.com/heksher-go/heksher/internal/wire"
)

// pollSpacingAfterChange is the least time between the starts of two
// upstream queries when the first brought a change: an upstream whose state
// changes all the time (a writer in a loop, or a hostile upstream answering
// every long poll at once with new data) then costs at most ten syncs a
// second instead of as many as the CPU allows (about 300 a second, 900
// requests, on a 2-core machine), and a change after a quiet spell still
// arrives at once. The Go client spaces its watches the same way.
const pollSpacingAfterChange = 100 * time.Millisecond

// errPollCut marks a long poll cancelled by a refresh request: not an
// upstream failure.
var errPollCut = errors.New("relay: long poll cut short for a refresh")

// run is the mirror loop: one sync per interval (or one long poll after
// another), a backoff after failures, an immediate sync when a refresh is
// asked for.
func (r *Relay) run(ctx context.Context) {
	defer close(r.done)
	firstDone := false
	for {
		seq, kicked := r.beginSync()
		wait := time.Duration(0)
		if !kicked && r.failures == 0 && r.last != nil && r.opts.WatchWait > 0 && r.watchMax.Load() > 0 {
			// The wait ends about when the definitions are due (in the
			// whole seconds the wire speaks, at least one); once they are,
			// a plain sync reads them.
			if due := r.defsDue(); due > 0 {
				wait = min(r.opts.WatchWait, time.Duration(r.watchMax.Load()), max(due, time.Second)).Truncate(time.Second)
			}
		}
		pollCtx, cancelPoll := context.WithCancelCause(ctx)
		r.setPollCancel(func() { cancelPoll(errPollCut) }, wait > 0)
		if wait > 0 {
			r.pollUntil.Store(time.Now().Add(wait).UnixNano())
		}
		started := time.Now()
		changed, err := r.syncOnce(pollCtx, wait, kicked)
		r.pollUntil.Store(0)
		r.setPollCancel(nil, false)
		if wait > 0 && errors.Is(context.Cause(pollCtx), errPollCut) && ctx.Err() == nil {
			err = errPollCut
		}
		cancelPoll(nil)
		if ctx.Err() != nil {
			r.endSync(seq, false, errClosed)
			if !firstDone {
				close(r.first)
			}
			return
		}
		r.endSync(seq, changed, err)
		if !firstDone {
			firstDone = true
			close(r.first)
		}
		var delay time.Duration
		switch {
		case errors.Is(err, errPollCut):
			continue
		case err != nil:
			r.failures++
			r.noteFailure(err)
			delay = r.opts.Backoff.Delay(r.failures)
		default:
			r.noteSuccess()
			r.failures = 0
			delay = r.opts.Interval
			// The next long poll is the wait; but a watch answered 304
			// well before its wait (an upstream at its cap of watches, or
			// one that only says it holds them) must not make a loop.
			early := wait > 0 && !changed && time.Since(started) < wait-time.Second/2
			if r.opts.WatchWait > 0 && r.watchMax.Load() > 0 && !early {
				delay = 0
				if changed {
					delay = pollSpacingAfterChange - time.Since(started)
				}
			}
		}
		if delay <= 0 {
			continue
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-r.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

// setPollCancel records how to cut the sync in flight short for a
// refresh: only a long poll is cut (a plain sync is soon over).
func (r *Relay) setPollCancel(cancel context.CancelFunc, long bool) {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	if !long {
		r.cancelPoll = nil
		return
	}
	r.cancelPoll = cancel
	if r.kicked {
		cancel()
	}
}

// beginSync numbers a new sync and says whether a refresh was asked for.
func (r *Relay) beginSync() (uint64, bool) {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	r.started++
	kicked := r.kicked
	r.kicked = false
	select {
	case <-r.kick:
	default:
	}
	return r.started, kicked
}

func (r *Relay) endSync(seq uint64, changed bool, err error) {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	r.finished, r.lastErr = seq, err
	r.lastChanged = changed
	close(r.doneCh)
	r.doneCh = make(chan struct{})
}

// refresh asks for a sync that starts after now and waits for it: every
// caller waiting at the same time shares one. It reports whether that
// sync changed the replica.
func (r *Relay) refresh(ctx context.Context) (bool, error) {
	r.syncMu.Lock()
	target := r.started + 1
	r.kicked = true
	if r.cancelPoll != nil {
		r.cancelPoll()
	}
	r.syncMu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
	for {
		r.syncMu.Lock()
		if r.finished >= target {
			changed, err := r.lastChanged, r.lastErr
			r.syncMu.Unlock()
			return changed, err
		}
		ch := r.doneCh
		r.syncMu.Unlock()
		select {
		case <-ch:
		case <-r.done:
			return false, errClosed
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

func (r *Relay) noteFailure(err error) {
	r.stats.upstreamErrors.Add(1)
	msg := err.Error()
	r.lastErrMsg.Store(&msg)
	if !r.failing.Swap(true) {
		r.log.Warn("relay: upstream failing; serving the last good snapshot", "upstream", r.base, "err", err,
			"snapshot_age", r.Stats().SnapshotAge)
	}
}

func (r *Relay) noteSuccess() {
	if r.failing.Swap(false) {
		r.log.Info("relay: upstream answering again", "upstream", r.base, "failed_attempts", r.failures)
	}
}

// syncOnce brings the replica up to date: the query (a long poll when wait
// > 0), and the definitions when the answer changed, when forced, or when
// they are due. It reports whether the replica changed.
func (r *Relay) syncOnce(ctx context.Context, wait time.Duration, force bool) (bool, error) {
	q, err := r.fetchQuery(ctx, wait)
	if err != nil {
		return false, err
	}
	if wait > 0 {
		// The long poll took its time; what follows is bounded on its own.
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
	}
	// A change of metadata, version or type alone leaves the query's
	// answer as it was (and a watch held): the definitions are read again
	// once they are DefinitionsEvery intervals old, long polls or not.
	due := r.defsDue() <= 0
	if q == nil && !force && r.defs != nil && !due {
		r.confirm()
		return false, nil
	}
	if q == nil {
		if r.last == nil {
			// Only a query with If-None-Match may be answered 304.
			return false, fmt.Errorf("relay: %s%s: 304 to a query that named no ETag", r.base, queryPath)
		}
		q = r.last
	}
	// The query and the definitions are two requests: a change upstream
	// between them gives a pair that does not fit, which is read again.
	for attempt := 0; ; attempt++ {
		defs, err := r.fetchDefinitions(ctx)
		if err != nil {
			return false, err
		}
		rs, err := buildState(q, defs)
		if err == nil {
			changed, err := r.apply(rs)
			if err != nil {
				return false, err
			}
			r.last, r.etag, r.defs, r.defsAt = q, q.etag, defs, time.Now()
			r.confirm()
			return changed, nil
		}
		if attempt == 2 {
			return false, err
		}
		fresh, ferr := r.fetchQueryPlain(ctx)
		if ferr != nil {
			return false, ferr
		}
		q = fresh
	}
}

// defsDue returns the time left until the definitions are read again.
func (r *Relay) defsDue() time.Duration {
	return time.Duration(r.opts.DefinitionsEvery)*r.opts.Interval - time.Since(r.defsAt)
}

// apply swaps rs in unless it is what the replica already holds.
func (r *Relay) apply(rs *server.ReplicaState) (bool, error) {
	b, err := json.Marshal(rs)
	if err != nil {
		return false, fmt.Errorf("relay: %w", err)
	}
	sum := sha256.Sum256(b)
	digest := hex.EncodeToString(sum[:])
	if digest == r.digest {
		return false, nil
	}
	if err := r.replica.Replace(rs); err != nil {
		return false, fmt.Errorf("relay: upstream state refused: %w", err)
	}
	r.digest = digest
	r.settings.Store(int64(len(rs.Settings)))
	r.stats.applied.Add(1)
	r.replica.SetDatabaseDown(false)
	return true, nil
}

func (r *Relay) confirm() { r.confirmed.Store(time.Now().UnixNano()) }

// queryAnswer is a parsed upstream query answer.
type queryAnswer struct {
	etag     string
	settings map[string]querySetting
}

type querySetting struct {
	DefaultValue json.RawMessage `json:"default_value"`
	Rules        []struct {
		Value           json.RawMessage `json:"value"`
		ContextFeatures [][]string      `json:"context_features"`
		RuleID          int64           `json:"rule_id"`
		Metadata        json.RawMessage `json:"metadata"`
	} `json:"rules"`
}

// definitions are the upstream's settings list and context features.
type definitions struct {
	features []string
	settings []settingData
}

type settingData struct {
	Name                 string          `json:"name"`
	Type                 string          `json:"type"`
	DefaultValue         json.RawMessage `json:"default_value"`
	Version              string          `json:"version"`
	ConfigurableFeatures []string        `json:"configurable_features"`
	Metadata             json.RawMessage `json:"metadata"`
	Aliases              []string        `json:"aliases"`
}

const queryPath = "/api/v1/query?include_metadata=true"

// fetchQuery asks for the query with If-None-Match (a long poll when wait
// > 0); nil means unchanged (304).
func (r *Relay) fetchQuery(ctx context.Context, wait time.Duration) (*queryAnswer, error) {
	h := http.Header{}
	if r.etag != "" && r.last != nil {
		h.Set("If-None-Match", r.etag)
	}
	if wait > 0 {
		h.Set(wire.HeaderPrefer, "wait="+strconv.Itoa(int(wait/time.Second)))
	}
	return r.getQuery(ctx, h, wait)
}

// fetchQueryPlain asks for the whole query answer.
func (r *Relay) fetchQueryPlain(ctx context.Context) (*queryAnswer, error) {
	q, err := r.getQuery(ctx, http.Header{}, 0)
	if err == nil && q == nil {
		return nil, fmt.Errorf("relay: %s%s: 304 without If-None-Match", r.base, queryPath)
	}
	return q, err
}

func (r *Relay) getQuery(ctx context.Context, h http.Header, wait time.Duration) (*queryAnswer, error) {
	status, hdr, body, err := r.get(ctx, queryPath, h, wait)
	if err != nil {
		return nil, err
	}
	r.noteWatch(hdr.Get(wire.HeaderWatch))
	switch status {
	case http.StatusNotModified:
		return nil, nil
	case http.StatusOK:
	default:
		return nil, fmt.Errorf("relay: %s%s: status %d", r.base, queryPath, status)
	}
	var raw struct {
		Settings map[string]querySetting `json:"settings"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || raw.Settings == nil {
		return nil, fmt.Errorf("relay: %s%s: not a query answer: %w", r.base, queryPath, errOrMissing(err, "settings"))
	}
	return &queryAnswer{etag: hdr.Get("ETag"), settings: raw.Settings}, nil
}

// noteWatch records the watch the upstream advertises ("wait=<seconds>").
func (r *Relay) noteWatch(v string) {
	secs := 0
	if rest, ok := strings.CutPrefix(strings.TrimSpace(v), "wait="); ok {
		if n, err := strconv.Atoi(rest); err == nil && n > 0 {
			secs = n
		}
	}
	r.watchMax.Store(int64(time.Duration(secs) * time.Second))
}

func (r *Relay) fetchDefinitions(ctx context.Context) (*definitions, error) {
	const settingsPath = "/api/v1/settings?include_additional_data=true"
	const featuresPath = "/api/v1/context_features"
	d := &definitions{}
	status, _, body, err := r.get(ctx, featuresPath, nil, 0)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("relay: %s%s: status %d", r.base, featuresPath, status)
	}
	if d.features, err = wire.DecodeContextFeatures(body); err != nil {
		return nil, fmt.Errorf("relay: %s%s: %w", r.base, featuresPath, err)
	}
	status, _, body, err = r.get(ctx, settingsPath, nil, 0)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("relay: %s%s: status %d", r.base, settingsPath, status)
	}
	var raw struct {
		Settings []settingData `json:"settings"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || raw.Settings == nil {
		return nil, fmt.Errorf("relay: %s%s: not a settings list: %w", r.base, settingsPath, errOrMissing(err, "settings"))
	}
	d.settings = raw.Settings
	return d, nil
}

func errOrMissing(err error, field string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("no %q", field)
}

// get makes one upstream GET and reads its answer, bounded.
func (r *Relay) get(ctx context.Context, path string, h http.Header, wait time.Duration) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.RequestTimeout+wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+path, nil)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("relay: %w", err)
	}
	for k, vs := range r.opts.Header {
		req.Header[k] = vs
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	r.stats.upstreamRequests.Add(1)
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("relay: %w", err)
	}
	defer resp.Body.Close()
	limit := r.opts.MaxAnswer
	if resp.ContentLength > limit {
		return 0, nil, nil, fmt.Errorf("relay: %s%s: answer of %d bytes, larger than %d", r.base, path, resp.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("relay: reading %s%s: %w", r.base, path, err)
	}
	if int64(len(body)) > limit {
		return 0, nil, nil, fmt.Errorf("relay: %s%s: answer larger than %d bytes", r.base, path, limit)
	}
	return resp.StatusCode, resp.Header, body, nil
}

// errMismatch marks a query and a settings list that do not describe the
// same settings (one changed between the two requests).
var errMismatch = errors.New("relay: the upstream's query and settings list disagree")

// buildState puts a query answer and the definitions together.
func buildState(q *queryAnswer, d *definitions) (*server.ReplicaState, error) {
	if len(q.settings) != len(d.settings) {
		return nil, fmt.Errorf("%w: %d settings in the query, %d in the list", errMismatch, len(q.settings), len(d.settings))
	}
	rs := &server.ReplicaState{ContextFeatures: slices.Clone(d.features), Settings: make([]server.ReplicaSetting, 0, len(d.settings))}
	for _, s := range d.settings {
		qs, ok := q.settings[s.Name]
		if !ok {
			return nil, fmt.Errorf("%w: setting %q is not in the query", errMismatch, s.Name)
		}
		def := qs.DefaultValue
		if def == nil {
			def = json.RawMessage("null")
		}
		if s.DefaultValue != nil && !bytes.Equal(s.DefaultValue, def) {
			return nil, fmt.Errorf("%w: setting %q has two defaults", errMismatch, s.Name)
		}
		rset := server.ReplicaSetting{Name: s.Name, Aliases: s.Aliases, Type: s.Type, DefaultValue: def,
			Metadata: s.Metadata, ConfigurableFeatures: s.ConfigurableFeatures, Version: s.Version,
			Rules: make([]server.ReplicaRule, len(qs.Rules))}
		for i, qr := range qs.Rules {
			conds := make([][2]string, len(qr.ContextFeatures))
			for j, p := range qr.ContextFeatures {
				if len(p) != 2 {
					return nil, fmt.Errorf("relay: query answer: settings[%q].rules[%d].context_features[%d] is not a pair", s.Name, i, j)
				}
				conds[j] = [2]string{p[0], p[1]}
			}
			rset.Rules[i] = server.ReplicaRule{ID: qr.RuleID, Conditions: conds, Value: qr.Value, Metadata: qr.Metadata}
		}
		rs.Settings = append(rs.Settings, rset)
	}
	return rs, nil
}
