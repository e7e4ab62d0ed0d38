package heksher

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/heksher-go/heksher/internal/wire"
)

// The watch: when a query answer carries the Heksher-Watch header (this
// module's servers send it; the real Heksher service does not), the next
// update is sent at once as a long poll that the server holds until the
// answer changes, so a change arrives as soon as it is made instead of at
// the next interval. See [WithoutWatch] and docs/DEVSERVER.md, "Watch".

// DefaultWatchWait is the longest wait the client asks a server to hold a
// watch, when the server allows that much. Proxies commonly end idle
// answers after 60 s; half of that keeps clear of them.
const DefaultWatchWait = 30 * time.Second

// Spacing between the starts of two watches, so that a server that answers
// watches at once (a hostile or broken one) cannot make the client spin: at
// most one watch per watchSpacing, or per watchSpacingAfterChange after an
// answer that brought new data (changes in quick succession still arrive
// quickly).
const (
	watchSpacing            = time.Second
	watchSpacingAfterChange = 100 * time.Millisecond
)

// WithoutWatch turns the watch off: the client then polls every interval
// even when the server offers the watch. Default: the client watches when
// the server advertises it (the Heksher-Watch header on query answers) and
// the update is one query (see [WithMaxQueryURL]), and polls otherwise.
func WithoutWatch() Option { return func(c *config) { c.noWatch = true } }

// errWatchEnded ends a watch in flight whose result is no longer wanted: a
// Reload asked for an update, or the query changed (a setting was newly
// tracked, the context filters changed).
var errWatchEnded = errors.New("heksher: watch ended: a new query is wanted")

// parseWatch reads a Heksher-Watch value, "wait=<seconds>", into the
// longest wait the server holds a watch; 0 when absent or malformed.
func parseWatch(v string) time.Duration {
	for p := range strings.SplitSeq(v, ",") {
		p, _, _ = strings.Cut(p, ";")
		name, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "wait") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil || n <= 0 {
			return 0
		}
		// Whatever the server says, the client never asks for more than
		// DefaultWatchWait, so a huge value only needs to stay positive.
		return time.Duration(min(n, int64(time.Hour/time.Second))) * time.Second
	}
	return 0
}

// watchWait is how long the client asks a server that holds watches for
// up to advertised to wait: at most DefaultWatchWait, and under half of
// the HTTP client's own Timeout (which the client cannot extend, unlike its
// request timeout), in whole seconds; 0 means: do not watch.
func (c *Client) watchWait(advertised time.Duration) time.Duration {
	if c.cfg.noWatch || advertised <= 0 {
		return 0
	}
	w := min(advertised, c.cfg.watchWait)
	if t := c.http.Timeout; t > 0 {
		w = min(w, t/2)
	}
	return w.Truncate(time.Second)
}

// watchHeaders are the headers of a watch for wait: If-None-Match is set
// by the caller.
func watchHeader(hdr http.Header, wait time.Duration) {
	hdr.Set(wire.HeaderPrefer, "wait="+strconv.FormatInt(int64(wait/time.Second), 10))
}

// endWatchLocked ends the watch in flight, if any: its answer is no longer
// wanted. The loop then sends a plain query at once. c.mu must be held.
func (c *Client) endWatchLocked() {
	if c.watchCancel != nil {
		c.watchCancel(errWatchEnded)
		c.watchCancel = nil
	}
}

// nextUpdate is what the update loop does after an attempt.
type nextUpdate struct {
	wait  time.Duration // the next attempt is a watch for this long; 0: plain
	pause time.Duration // before the next attempt
}

// afterAttempt decides the next attempt from the one that just ended:
// a watch when the answer advertised it (at most one per watchSpacing,
// counted from the start of this one), else a plain query after the
// interval (or sooner, with a degraded start's backoff after a failure).
func (c *Client) afterAttempt(res applyResult, err error, wasWatch bool, started time.Time) nextUpdate {
	if err != nil {
		wait := c.interval
		if c.cfg.degraded {
			c.mu.Lock()
			n := c.status.ConsecutiveFailures
			c.mu.Unlock()
			wait = min(wait, c.cfg.backoff.Delay(n))
		}
		return nextUpdate{pause: wait}
	}
	w := c.watchWait(res.watchMax)
	if w <= 0 {
		return nextUpdate{pause: c.interval}
	}
	if wasWatch && !res.watched {
		// Asked, but answered as a plain query (the server's cap on
		// watches was reached, say): poll as without the watch this time.
		return nextUpdate{wait: w, pause: c.interval}
	}
	spacing := watchSpacing
	if !res.notModified {
		spacing = watchSpacingAfterChange
	}
	return nextUpdate{wait: w, pause: max(spacing-time.Since(started), 0)}
}

// watchContext returns the context of an attempt that is a watch: it ends
// with ctx, or when endWatchLocked is called. c.mu must be held.
func (c *Client) watchContext(ctx context.Context) (context.Context, context.CancelCauseFunc) {
	wctx, cancel := context.WithCancelCause(ctx)
	c.watchCancel = cancel
	return wctx, cancel
}
