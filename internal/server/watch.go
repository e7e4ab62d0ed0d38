package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heksher-go/heksher/internal/wire"
)

// Defaults of [WatchOptions].
const (
	// DefaultWatchMaxWait is the longest a watch is held unless
	// WatchOptions.MaxWait says otherwise.
	DefaultWatchMaxWait = 60 * time.Second
	// DefaultMaxWatchers is how many watches are held at once unless
	// WatchOptions.MaxWatchers says otherwise.
	DefaultMaxWatchers = 10000
)

// WatchOptions configures the watch: a long poll on GET /api/v1/query, an
// addition to the v1 API that the real Heksher service does not have
// (docs/DEVSERVER.md, "Watch"). The zero value leaves it off, so the engine
// answers exactly as the real service does.
type WatchOptions struct {
	// Enabled turns the watch on: every query answer (200 and 304) then
	// carries "Heksher-Watch: wait=<MaxWait in seconds>", and a query with
	// If-None-Match and "Prefer: wait=<seconds>" is held until its answer's
	// ETag differs from the one given, the wait (at most MaxWait) ends,
	// the client goes away or [Engine.CloseWatches] is called.
	Enabled bool
	// MaxWait caps the wait a client may ask for, in whole seconds;
	// default DefaultWatchMaxWait.
	MaxWait time.Duration
	// MaxWatchers caps the watches held at once; past it a watch is
	// answered at once, as a plain query. Default DefaultMaxWatchers.
	MaxWatchers int
}

// watches is the engine's side of the watch: the change notification that
// every state change goes through (changed), and the bounds on the watches
// held.
//
// The notification is a channel closed at the next change: a watcher takes
// the current one before it evaluates its query, so that a change made
// after the evaluation always wakes it. The channel is made only when a
// watcher asks for it, so changes cost nothing without watchers. Each held
// watch costs its request's goroutine (the server's), one timer and this
// channel shared by all: memory per watcher does not grow with the state.
type watches struct {
	enabled   bool
	maxWait   time.Duration
	limit     int64
	advertise string // the Heksher-Watch value

	held     atomic.Int64 // watches held now
	rechecks atomic.Int64 // watches woken by a change and evaluated again

	mu     sync.Mutex
	next   chan struct{} // closed at the next change; nil when nobody waits
	closed chan struct{} // closed by CloseWatches
	done   bool
}

func newWatches(o WatchOptions) watches {
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultWatchMaxWait
	}
	// The wire speaks whole seconds; at least one.
	o.MaxWait = max(o.MaxWait.Truncate(time.Second), time.Second)
	if o.MaxWatchers <= 0 {
		o.MaxWatchers = DefaultMaxWatchers
	}
	return watches{
		enabled:   o.Enabled,
		maxWait:   o.MaxWait,
		limit:     int64(o.MaxWatchers),
		advertise: "wait=" + strconv.FormatInt(int64(o.MaxWait/time.Second), 10),
		closed:    make(chan struct{}),
	}
}

// changed wakes every watcher: the state changed. It is the one change
// notification of the engine: changedLocked and every other replacement of
// the state call it.
func (w *watches) changed() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.next != nil {
		close(w.next)
		w.next = nil
	}
}

// wake returns a channel closed at the next change (or at once after
// CloseWatches).
func (w *watches) wake() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return w.closed
	}
	if w.next == nil {
		w.next = make(chan struct{})
	}
	return w.next
}

// acquire counts a watch in, or reports that the cap is reached.
func (w *watches) acquire() bool {
	if w.held.Add(1) > w.limit {
		w.held.Add(-1)
		return false
	}
	return true
}

func (w *watches) release() { w.held.Add(-1) }

// CloseWatches ends every watch held (each is answered as a plain query
// would be, at once) and makes later watches answer at once too; plain
// queries are unaffected. Call it when the server shuts down, so that a
// graceful shutdown does not wait for held watches (for an [http.Server],
// register it with RegisterOnShutdown). It may be called more than once.
func (e *Engine) CloseWatches() {
	w := &e.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.done = true
		close(w.closed)
	}
}

// Watchers returns how many watches are held now.
func (e *Engine) Watchers() int { return int(e.watch.held.Load()) }

// watchWait returns how long a query asks to be held: the wait preference
// of its Prefer header, capped at the engine's maximum, when the watch is
// enabled and the query names an ETag to differ from; 0 otherwise.
func (e *Engine) watchWait(rq *request) time.Duration {
	if !e.watch.enabled || len(rq.ifNoneMatch) == 0 || rq.ifNoneMatch[0] == "" || len(rq.prefer) == 0 {
		return 0
	}
	secs, ok := preferWait(rq.prefer)
	if !ok || secs <= 0 {
		return 0
	}
	// Compared in seconds: a huge wait would overflow a Duration (to a
	// negative one, or to a fraction of a second).
	if secs >= int64(e.watch.maxWait/time.Second) {
		return e.watch.maxWait
	}
	return time.Duration(secs) * time.Second
}

// preferWait finds the wait preference (RFC 7240: "wait=<delta-seconds>")
// among Prefer header lines, each a comma-separated list of preferences
// with optional parameters after ";".
func preferWait(lines []string) (int64, bool) {
	for _, line := range lines {
		for pref := range strings.SplitSeq(line, ",") {
			pref, _, _ = strings.Cut(pref, ";")
			name, val, ok := strings.Cut(strings.TrimSpace(pref), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "wait") {
				continue
			}
			n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(val), `"`), 10, 64)
			if err != nil || n < 0 {
				return 0, false
			}
			return n, true
		}
	}
	return 0, false
}

// watchQuery answers a query, holding it first when it asks to be watched:
// until answer gives something else than 304, the wait ends, the client goes
// away or the watches are closed. The answer is always one answer would give
// for a plain query at that moment.
func (e *Engine) watchQuery(rq *request, answer func() *response) *response {
	wait := e.watchWait(rq)
	if wait <= 0 || !e.watch.acquire() {
		return e.advertised(answer())
	}
	defer e.watch.release()
	ctx := rq.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		// The channel is taken before the answer is computed: a change
		// made after the computation closes it.
		wake := e.watch.wake()
		resp := answer()
		if resp.status != http.StatusNotModified {
			return e.applied(resp, wait)
		}
		select {
		case <-wake:
			e.watch.rechecks.Add(1)
			// Some change: is it one this query sees? A change to other
			// settings leaves the ETag as it was, and the watch goes on.
			select {
			case <-e.watch.closed:
				return e.applied(answer(), wait)
			default:
				continue
			}
		case <-timer.C:
		case <-ctx.Done():
		case <-e.watch.closed:
		}
		return e.applied(answer(), wait)
	}
}

// advertised adds the watch header to a query answer (200 or 304) when the
// watch is enabled.
func (e *Engine) advertised(resp *response) *response {
	if !e.watch.enabled || (resp.status != http.StatusOK && resp.status != http.StatusNotModified) {
		return resp
	}
	if resp.header == nil {
		resp.header = map[string]string{}
	}
	resp.header[wire.HeaderWatch] = e.watch.advertise
	return resp
}

// applied is advertised for a query that was watched: it also says so.
func (e *Engine) applied(resp *response, wait time.Duration) *response {
	resp = e.advertised(resp)
	if resp.status == http.StatusOK || resp.status == http.StatusNotModified {
		resp.header["Preference-Applied"] = "wait=" + strconv.FormatInt(int64(wait/time.Second), 10)
	}
	return resp
}
