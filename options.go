package heksher

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/heksher-go/heksher/backoff"
	"github.com/heksher-go/heksher/dispatch"
)

// Option configures a [Client]. Options never fail; [NewClient] validates the
// whole configuration once.
type Option func(*config)

// Backoff bounds the retries of a degraded start (see [WithDegradedStart]):
// it is the one retry schedule of the module, [backoff.Policy]. The wait
// doubles from Initial up to Max, and each wait is shortened by a random
// fraction of up to Jitter of itself, so that a fleet of clients restarted
// after the same outage does not retry in lock-step. Zero fields mean the
// defaults: 100ms, 30s and 0.2; a negative Jitter means exact waits.
type Backoff = backoff.Policy

type config struct {
	httpClient     *http.Client
	header         http.Header
	logger         *slog.Logger
	hooks          []Hook
	dispatcher     *dispatch.Dispatcher
	requestTimeout time.Duration
	degraded       bool
	backoff        Backoff
	snapshotPath   string
	strict         bool
	hookQueue      int
	hookDeadline   time.Duration
	maxQueryURL    int
	noWatch        bool          // WithoutWatch
	watchWait      time.Duration // the longest wait asked of a server; DefaultWatchWait
}

// WithHTTPClient makes the client send its requests with hc. Default: a
// client of its own on a clone of http.DefaultTransport, whose idle
// connections Close releases, and which follows no redirect (a redirect
// would carry [WithHeaders]' values to another host). A client given here
// follows redirects as its CheckRedirect says.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithHeader adds a header sent with every request (for example an API
// token). It may be given several times; values accumulate.
func WithHeader(key, value string) Option {
	return func(c *config) {
		if c.header == nil {
			c.header = http.Header{}
		}
		c.header.Add(key, value)
	}
}

// WithHeaders adds every header of h (copied) to every request.
func WithHeaders(h http.Header) Option {
	return func(c *config) {
		if c.header == nil {
			c.header = http.Header{}
		}
		for k, vs := range h {
			for _, v := range vs {
				c.header.Add(k, v)
			}
		}
	}
}

// WithLogger sets the logger. Default: [slog.Default] as it is when
// NewClient runs, so that failures and misconfigurations are visible out of
// the box; pass slog.New(slog.DiscardHandler) to silence the client.
// The texts and levels are those of the reference client (see
// docs/PYTHON-MAPPING.md).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithHooks adds hooks that receive the client's events. Each hook gets its
// own queue and worker (see package dispatch), so a slow or panicking hook
// never delays an update or a Get. May be given several times.
func WithHooks(h ...Hook) Option { return func(c *config) { c.hooks = append(c.hooks, h...) } }

// WithHookLimits sets the queue size and per-event deadline of each hook.
// Default: dispatch.DefaultQueueSize and dispatch.DefaultDeadline.
func WithHookLimits(queueSize int, deadline time.Duration) Option {
	return func(c *config) { c.hookQueue, c.hookDeadline = queueSize, deadline }
}

// WithDispatcher makes the client publish its events into d, which the
// caller owns (Close does not close it). Hooks given with [WithHooks]
// subscribe to d and stay subscribed until d is closed, so that they still
// receive the Closing event. Default: a dispatcher of the client's own,
// created only when there are hooks, and closed by Close.
func WithDispatcher(d *dispatch.Dispatcher) Option { return func(c *config) { c.dispatcher = d } }

// WithRequestTimeout bounds each HTTP request the client makes: the
// context-feature check of SetAsMain, declarations, updates, Ping and
// GetSettings. A caller's context that ends sooner still ends the request
// sooner. A watch (see [WithoutWatch]) is given its wait on top. Default:
// 30s.
func WithRequestTimeout(d time.Duration) Option { return func(c *config) { c.requestTimeout = d } }

// WithDegradedStart makes SetAsMain return after the first attempt even if
// the declarations or the first update failed, instead of closing the client
// and returning the error. Declarations that failed because the service could
// not be reached (or answered 5xx) are retried in the background, and failed
// updates are retried sooner than the interval, both waiting as b says.
// Default: off, the reference behaviour.
//
// A declaration awaiting its retry, or cut short by Close, is still
// unprocessed: a client closed with such declarations logs their names, and
// keeps them, so another client's [Client.SetAsMain] is refused with a
// [*MainSwitchError] naming them, as for settings queued on a closed client.
// To switch main clients during an outage, keep the previous client open
// until [Status].RetryingDeclarations is 0.
func WithDegradedStart(b Backoff) Option {
	return func(c *config) { c.degraded, c.backoff = true, b }
}

// WithSnapshotFile makes the client save the last good query answer to path
// (atomically: a temporary file, fsync, rename) after every successful update
// that changed something, and, with [WithDegradedStart], load it at SetAsMain
// when the service cannot be reached, so the saved values are served until
// the service is back. Default: no snapshot.
func WithSnapshotFile(path string) Option { return func(c *config) { c.snapshotPath = path } }

// DefaultMaxQueryURL is the default of [WithMaxQueryURL], about 2,000
// setting names of 14 characters: half of the request line and headers
// this module's servers accept (64 KiB), leaving room for the headers.
const DefaultMaxQueryURL = 32 << 10

// WithMaxQueryURL bounds the length in bytes of an update's query URL. A
// client tracking more settings than one URL of that length can name splits
// its update into several queries, each for a range of its settings (in
// name order) and each with its own ETag; their answers are applied
// together, so a reader never sees the update half-applied, and an update
// fails as a whole when any of its queries fails. Their answers together
// are bounded as one answer is (256 MiB). Servers refuse longer
// request lines: this module's servers answer 431 past 64 KiB of request
// line and headers, a Go server by default past 1 MiB, and proxies often
// stop at 8 KiB, so lower it for a service behind such a proxy. Default:
// [DefaultMaxQueryURL]; zero or less means the default.
func WithMaxQueryURL(bytes int) Option { return func(c *config) { c.maxQueryURL = bytes } }

// WithStrictDeclarations makes SetAsMain fail, and close the client, when a
// setting pending at that time could not be declared (the service could not
// be reached, answered an error status, or did not answer JSON) or was
// declared in conflict with the service (409: see [*ConflictError]); the
// error joins one [*DeclarationError] per setting. Settings created later
// are still only logged (and their conflicts listed by [Client.Status]).
// Default: off, the reference behaviour (declaration failures are logged
// and the setting is left untracked; a conflict is logged, listed by
// Status and reported by the setting's Lookup).
func WithStrictDeclarations() Option { return func(c *config) { c.strict = true } }
