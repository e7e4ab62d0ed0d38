package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heksher-go/heksher/backoff"
	"github.com/heksher-go/heksher/internal/server"
	"github.com/heksher-go/heksher/internal/wire"
)

// Defaults applied by [New] to zero fields of [Options].
const (
	DefaultInterval         = 5 * time.Second
	DefaultRequestTimeout   = 10 * time.Second
	DefaultWatchWait        = 30 * time.Second
	DefaultDefinitionsEvery = 10
	DefaultMissRefreshEvery = time.Second
	// DefaultMaxAnswer bounds the body of each upstream answer the relay
	// reads to mirror it (a query for 100,000 settings × 5 rules is about
	// 60 MB).
	DefaultMaxAnswer = 256 << 20
	// DefaultMaxForwards is how many writes are forwarded upstream at once.
	DefaultMaxForwards = 16
)

// WriteMode says what a relay does with rule and setting writes other than
// declarations.
type WriteMode int

const (
	// RefuseWrites answers them 403 (the default).
	RefuseWrites WriteMode = iota
	// ForwardWrites forwards them upstream like declarations.
	ForwardWrites
)

// Options configure a [Relay]. Only Upstream is required.
type Options struct {
	// Upstream is the base URL of the Heksher service (or of another
	// relay), e.g. "http://heksher:8888".
	Upstream string
	// Header is sent with every upstream request (e.g. Authorization).
	// A downstream client's own Authorization is never forwarded.
	Header http.Header
	// HTTPClient makes the upstream requests; default a client of its own
	// (closed by Close). Its Timeout, if any, must leave room for a long
	// poll of WatchWait. Redirects are never followed, whatever its
	// CheckRedirect: the relay uses a copy with its own.
	HTTPClient *http.Client
	// Interval is the time between two queries to the upstream when it
	// does not offer the watch; default 5s.
	Interval time.Duration
	// RequestTimeout bounds each upstream request (a long poll gets
	// WatchWait more); default 10s.
	RequestTimeout time.Duration
	// WatchWait is the longest wait asked of an upstream that offers the
	// watch (capped by what it advertises, at least 1s); default 30s.
	// Negative: never long-poll.
	WatchWait time.Duration
	// DefinitionsEvery: the settings' definitions and the context features
	// are read again once they are this many intervals old, even when the
	// query's answer did not change (a metadata or version change does not
	// show in it), whether the relay polls or long-polls; default 10.
	DefinitionsEvery int
	// MissRefreshEvery is the least time between two refreshes triggered
	// by a downstream request for a setting the replica does not know;
	// default 1s.
	MissRefreshEvery time.Duration
	// DownstreamWatch is the longest wait the relay offers its own
	// clients' watches (advertised with the watch header on its query
	// answers, so Go clients and downstream relays long-poll it); default
	// 60s. Negative: no watch offered, the relay answers queries as the
	// real service does.
	DownstreamWatch time.Duration
	// MaxWatchers caps the downstream watches held at once; past it a
	// watch is answered at once, as a plain query. Default
	// server.DefaultMaxWatchers (10,000).
	MaxWatchers int
	// MaxForwards caps the writes (declarations among them) forwarded
	// upstream at once; the others wait their turn, up to RequestTimeout,
	// and are then answered as the service answers without its database.
	// A fleet starting together therefore does not open a connection per
	// client to the service. Default DefaultMaxForwards.
	MaxForwards int
	// MaxAnswer bounds the body of each upstream answer read to mirror
	// it; a larger one fails the sync (the last snapshot stays). Default
	// DefaultMaxAnswer.
	MaxAnswer int64
	// Writes says what to do with rule and setting writes; default
	// RefuseWrites. Declarations are always forwarded.
	Writes WriteMode
	// Backoff is the retry schedule after a failed upstream request;
	// default Initial 100ms, Max Interval.
	Backoff backoff.Policy
	// Logger receives the relay's records; default discard.
	Logger *slog.Logger
}

// Relay mirrors an upstream Heksher service and serves its API from the
// mirror. Create it with [New]; stop it with [Relay.Close]. Safe for
// concurrent use.
type Relay struct {
	opts    Options
	base    string // Upstream without a trailing slash
	client  *http.Client
	ownHTTP bool
	log     *slog.Logger

	replica *server.Engine // the mirror; changed only by Replace
	down    *server.Engine // empty, database down: the answer to writes while the upstream is unreachable
	handler http.Handler

	cancel context.CancelFunc
	done   chan struct{}
	first  chan struct{} // closed when the first sync attempt ended
	closed sync.Once

	// Mirror state, owned by the loop goroutine (and the syncs it runs).
	etag     string
	last     *queryAnswer
	defs     *definitions
	defsAt   time.Time // when defs were read
	digest   string    // of the state last applied
	failures int

	syncMu      sync.Mutex // guards the fields below
	started     uint64     // syncs begun
	finished    uint64     // the number of the last sync that ended
	lastErr     error
	lastChanged bool
	doneCh      chan struct{} // closed and replaced when a sync ends
	kicked      bool          // a refresh was asked for
	cancelPoll  context.CancelFunc
	lastMiss    time.Time

	kick     chan struct{}
	forwards chan struct{} // a token per write forwarded now

	confirmed  atomic.Int64 // unix nanoseconds of the last confirmation by the upstream; 0: none
	pollUntil  atomic.Int64 // while a watch is held on the upstream, when its wait ends (unix ns); else 0
	settings   atomic.Int64
	watchMax   atomic.Int64 // the upstream's advertised longest wait (ns); 0: no watch
	failing    atomic.Bool
	lastErrMsg atomic.Pointer[string]
	stats      counters
}

type counters struct {
	upstreamRequests, upstreamErrors, applied, forwarded, refused, missRefreshes, unreachable atomic.Uint64
}

// New checks opts, starts mirroring in the background and returns at once;
// [Relay.Wait] waits for the first snapshot. Downstream requests that come
// before the first sync attempt has ended wait for it; until a snapshot is
// held, the relay answers as the service answers without its database.
// ctx is not kept: it only bounds New.
//
// # Errors
//
// An Upstream that is not an absolute http or https URL.
func New(ctx context.Context, opts Options) (*Relay, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	u, err := url.Parse(opts.Upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("relay: upstream %q is not an http(s) URL", opts.Upstream)
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.WatchWait == 0 {
		opts.WatchWait = DefaultWatchWait
	}
	if opts.WatchWait > 0 {
		opts.WatchWait = max(opts.WatchWait, time.Second) // the wire speaks whole seconds
	}
	if opts.DefinitionsEvery <= 0 {
		opts.DefinitionsEvery = DefaultDefinitionsEvery
	}
	if opts.MissRefreshEvery <= 0 {
		opts.MissRefreshEvery = DefaultMissRefreshEvery
	}
	if opts.MaxForwards <= 0 {
		opts.MaxForwards = DefaultMaxForwards
	}
	if opts.MaxAnswer <= 0 {
		opts.MaxAnswer = DefaultMaxAnswer
	}
	if opts.Backoff == (backoff.Policy{}) {
		opts.Backoff = backoff.Policy{Initial: 100 * time.Millisecond, Max: opts.Interval}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Relay{opts: opts, base: strings.TrimSuffix(opts.Upstream, "/"), log: opts.Logger,
		done: make(chan struct{}), first: make(chan struct{}), doneCh: make(chan struct{}), kick: make(chan struct{}, 1),
		forwards: make(chan struct{}, opts.MaxForwards)}
	if opts.HTTPClient != nil {
		c := *opts.HTTPClient // a copy, to refuse redirects without changing the caller's
		r.client = &c
	} else {
		r.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		r.ownHTTP = true
	}
	r.client.CheckRedirect = refuseRedirect
	var watch server.WatchOptions
	if opts.DownstreamWatch >= 0 {
		watch = server.WatchOptions{Enabled: true, MaxWait: opts.DownstreamWatch, MaxWatchers: opts.MaxWatchers}
	}
	if r.replica, err = server.New(server.Options{Watch: watch}); err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	r.replica.SetDatabaseDown(true) // until the first snapshot
	if r.down, err = server.New(server.Options{}); err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	r.down.SetDatabaseDown(true)
	r.handler = r.replica.ReadOnlyHandler(http.HandlerFunc(r.write))
	loopCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.run(loopCtx)
	return r, nil
}

// Wait waits until the relay holds a snapshot, or ctx ends. It asks
// nothing of the upstream: the syncs keep their schedule (and backoff).
func (r *Relay) Wait(ctx context.Context) error {
	for {
		r.syncMu.Lock()
		ch := r.doneCh
		r.syncMu.Unlock()
		if r.confirmed.Load() != 0 {
			return nil
		}
		select {
		case <-ch:
		case <-r.done:
			return errClosed
		case <-ctx.Done():
			return fmt.Errorf("relay: no snapshot of %s yet: %w", r.base, ctx.Err())
		}
	}
}

// Close stops mirroring and waits for the loop to end (an upstream request
// in flight is cancelled). It does not stop servers started by
// [Relay.Listen]. Idempotent.
func (r *Relay) Close(ctx context.Context) error {
	r.closed.Do(func() { r.cancel() })
	select {
	case <-r.done:
	case <-ctx.Done():
		return fmt.Errorf("relay: close: %w", ctx.Err())
	}
	if r.ownHTTP {
		r.client.CloseIdleConnections()
	}
	return nil
}

// Handler returns the downstream HTTP handler: reads from the replica,
// declarations (and, by [Options.Writes], other writes) forwarded. It
// puts no access rules in front; [Relay.Listen] does.
func (r *Relay) Handler() http.Handler { return http.HandlerFunc(r.serveHTTP) }

func (r *Relay) serveHTTP(w http.ResponseWriter, req *http.Request) {
	if r.confirmed.Load() == 0 {
		select {
		case <-r.first:
		case <-req.Context().Done():
			return
		}
	}
	// A 404 for a name may only mean that the setting was declared
	// upstream since the last sync: hold the answer back, refresh once,
	// and answer again.
	mw := &ageWriter{ResponseWriter: w, r: r, hold: missable(req)}
	r.handler.ServeHTTP(mw, req)
	if !mw.held {
		return
	}
	if r.missRefresh(req.Context()) {
		h := w.Header()
		h.Del("Content-Type")
		h.Del("Content-Length")
		r.handler.ServeHTTP(&ageWriter{ResponseWriter: w, r: r}, req)
		return
	}
	mw.release()
}

func (r *Relay) setAge(h http.Header) {
	if age, ok := r.age(); ok {
		h.Set(wire.HeaderSnapshotAge, strconv.FormatFloat(age.Seconds(), 'f', 3, 64))
	}
}

// age returns the time since the upstream last confirmed the snapshot,
// and false without one. A watch held on the upstream confirms it all
// along (the upstream answers as soon as its state changes) until the
// wait it asked for has passed.
func (r *Relay) age() (time.Duration, bool) {
	c := r.confirmed.Load()
	if c == 0 {
		return 0, false
	}
	since := time.Unix(0, c)
	if u := r.pollUntil.Load(); u != 0 {
		since = time.Unix(0, max(c, min(u, time.Now().UnixNano())))
	}
	return time.Since(since), true
}

// missable reports whether a request may be answered 404 for a setting
// name the replica does not know yet.
func missable(req *http.Request) bool {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return false
	}
	p := req.URL.Path
	return p == "/api/v1/query" || strings.HasPrefix(p, "/api/v1/settings/") || strings.HasPrefix(p, "/api/v1/rules/search")
}

// ageWriter sets the snapshot-age header when the answer is written (a
// watch may be answered long after it came), and, with hold, holds back a
// 404 so that it can be answered again after a refresh.
type ageWriter struct {
	http.ResponseWriter
	r      *Relay
	hold   bool
	held   bool
	status int
	body   []byte
}

func (m *ageWriter) WriteHeader(status int) {
	if m.hold && status == http.StatusNotFound {
		m.held, m.status = true, status
		return
	}
	m.r.setAge(m.ResponseWriter.Header())
	m.ResponseWriter.WriteHeader(status)
}

func (m *ageWriter) Write(b []byte) (int, error) {
	if m.held {
		if len(m.body)+len(b) <= 64<<10 {
			m.body = append(m.body, b...)
		}
		return len(b), nil
	}
	return m.ResponseWriter.Write(b)
}

func (m *ageWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }

func (m *ageWriter) release() {
	m.r.setAge(m.ResponseWriter.Header())
	m.ResponseWriter.WriteHeader(m.status)
	_, _ = m.ResponseWriter.Write(m.body) // the client went away; nothing to do
}

// missRefresh refreshes for a request that named an unknown setting,
// unless one did less than MissRefreshEvery ago; it reports whether the
// request should be answered again (the replica may have changed since
// its first answer, by this refresh or by the sync before it).
func (r *Relay) missRefresh(ctx context.Context) bool {
	r.syncMu.Lock()
	if time.Since(r.lastMiss) < r.opts.MissRefreshEvery {
		r.syncMu.Unlock()
		return false
	}
	r.lastMiss = time.Now()
	r.syncMu.Unlock()
	r.stats.missRefreshes.Add(1)
	ctx, cancel := context.WithTimeout(ctx, r.opts.RequestTimeout)
	defer cancel()
	_, err := r.refresh(ctx)
	return err == nil
}

// Stats is a relay's state, for status pages and metrics.
type Stats struct {
	// Upstream is the upstream's base URL.
	Upstream string
	// Ready says a snapshot is held.
	Ready bool
	// SnapshotAge is the time since the upstream last confirmed the
	// snapshot (0 without one).
	SnapshotAge time.Duration
	// Settings is the number of settings in the snapshot.
	Settings int
	// Failing says the last upstream attempt failed; LastError says why.
	Failing   bool
	LastError string
	// Watch says the upstream offers the watch (the relay long-polls).
	Watch bool
	// Watchers is the number of downstream watches held now.
	Watchers int
	// Counters since New.
	UpstreamRequests, UpstreamErrors, Applied, Forwarded, Refused, MissRefreshes, Unreachable uint64
}

// Stats returns the relay's current state.
func (r *Relay) Stats() Stats {
	s := Stats{Upstream: r.base, Settings: int(r.settings.Load()), Failing: r.failing.Load(), Watch: r.watchMax.Load() > 0,
		UpstreamRequests: r.stats.upstreamRequests.Load(), UpstreamErrors: r.stats.upstreamErrors.Load(),
		Applied: r.stats.applied.Load(), Forwarded: r.stats.forwarded.Load(), Refused: r.stats.refused.Load(),
		MissRefreshes: r.stats.missRefreshes.Load(), Unreachable: r.stats.unreachable.Load(), Watchers: r.replica.Watchers()}
	s.SnapshotAge, s.Ready = r.age()
	if p := r.lastErrMsg.Load(); p != nil && s.Failing {
		s.LastError = *p
	}
	return s
}

// refuseRedirect makes the upstream client answer a redirect as it is,
// instead of following it: a redirected request would carry the relay's
// upstream headers (credentials among them: Go drops only Authorization and
// cookies, and only for another host name) and a forwarded write's body to
// wherever the upstream points. The v1 API does not redirect the requests
// the relay makes, so a 3xx is a failure like a 5xx.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// errClosed is the refresh error once the relay is closed.
var errClosed = errors.New("relay: closed")
