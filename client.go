package heksher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heksher-go/heksher/dispatch"
	"github.com/heksher-go/heksher/event"
)

// Client keeps settings up to date from a Heksher service: it declares them,
// polls the service for their rules, and supplies the namespace of every Get.
//
// Create it with [NewClient], make it the main client with
// [Client.SetAsMain], and end it with [Client.Close]. A Client is safe for
// concurrent use and must not be copied.
//
// Blocking methods take a context and return errors (the contract of the
// reference's async client); failures in the background go to the logger and
// to hooks (the contract of its thread client).
type Client struct {
	base       string // service URL without trailing "/"
	interval   time.Duration
	features   []string
	featureSet map[string]struct{}
	cfg        config
	http       *http.Client
	ownHTTP    bool
	log        *slog.Logger
	disp       *dispatch.Dispatcher
	ownDisp    bool

	modLock  sync.Mutex // the modification lock (docs/CONFORMANCE.md B61)
	defaults contextDefaults
	tracking atomic.Pointer[trackConfig]
	// untracked holds the context values already reported as untracked.
	untracked warnOnce

	// ctx is the context of the background loops: created here, cancelled by
	// Close.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	started   bool
	outage    bool // a failure to reach the service was logged (see logFailure)
	closed    bool
	tracked   map[string]settingHandle  // declared settings, by name
	canonical map[string]string         // the service's canonical name → the declared name (renames)
	conflicts map[string]*ConflictError // declarations the service answered with 409, by name
	missing   map[string]struct{}       // tracked names the service's query said are not setting names (missing.go)
	missingAt time.Time                 // when the missing names were last marked or asked about
	recheck   time.Duration             // how often missing names are asked about again; 0: missingRecheck
	queue     []settingHandle           // declaration queue (FIFO)
	declBusy  bool                      // a declaration is in flight
	inFlight  settingHandle             // the setting being declared
	declIdle  chan struct{}             // closed when the queue drains; replaced when it fills
	retry     []settingHandle           // declarations waiting for a retry (degraded start)
	retrying  map[settingHandle]struct{}
	etag      string
	// With an update split into several queries (WithMaxQueryURL), etag
	// lists their ETags and chunks holds each query's, by query string;
	// chunks is only read while etag is not empty.
	chunks   map[string]queryChunk
	status   Status
	attempts uint64 // update attempts started
	finished uint64 // the number of the last update attempt finished (an abandoned watch is not)
	// watchCancel ends the watch in flight (see endWatchLocked); nil when
	// none is.
	watchCancel context.CancelCauseFunc
	lastErr     error         // error of the last finished attempt
	attemptCh   chan struct{} // closed when an attempt finishes; replaced each time

	declWake   chan struct{} // capacity 1
	trigger    chan struct{} // capacity 1: manual update request
	closedFlag atomic.Bool
	closeDone  chan struct{}

	snapshotOnce   sync.Once
	serviceApplied bool    // an answer of the service was committed; guarded by modLock
	startErrs      []error // declaration failures before SetAsMain's first update
	startDone      bool

	pubMu sync.Mutex // orders event numbers and publication
	seq   uint64
}

// NewClient returns a client for the service at serviceURL that polls it
// every interval, expecting the service's context features to be features
// (ordered; duplicates are removed keeping the first). Every endpoint path is
// appended to serviceURL, so a base of http://h/prefix queries
// http://h/prefix/api/v1/query.
//
// Construction does no I/O, starts nothing and does not touch the main
// client; [Client.SetAsMain] does.
//
// # Errors
//
// NewClient fails if serviceURL is not an absolute http(s) URL or interval
// is not positive.
func NewClient(serviceURL string, interval time.Duration, features []string, opts ...Option) (*Client, error) {
	u, err := url.Parse(serviceURL)
	if err != nil {
		return nil, fmt.Errorf("heksher: service URL %q: %w", serviceURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("heksher: service URL %q: want an absolute http or https URL", serviceURL)
	}
	if interval <= 0 {
		return nil, fmt.Errorf("heksher: update interval %v: must be positive", interval)
	}
	cfg := config{requestTimeout: 30 * time.Second, backoff: Backoff{}, watchWait: DefaultWatchWait}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.requestTimeout <= 0 {
		return nil, fmt.Errorf("heksher: request timeout %v: must be positive", cfg.requestTimeout)
	}
	if cfg.maxQueryURL <= 0 {
		cfg.maxQueryURL = DefaultMaxQueryURL
	}
	c := &Client{
		base:       strings.TrimRight(serviceURL, "/"),
		interval:   interval,
		featureSet: map[string]struct{}{},
		cfg:        cfg,
		log:        cfg.logger,
		tracked:    map[string]settingHandle{},
		canonical:  map[string]string{},
		conflicts:  map[string]*ConflictError{},
		missing:    map[string]struct{}{},
		retrying:   map[settingHandle]struct{}{},
		declIdle:   closedChan(),
		attemptCh:  make(chan struct{}),
		declWake:   make(chan struct{}, 1),
		trigger:    make(chan struct{}, 1),
		closeDone:  make(chan struct{}),
	}
	for _, f := range features {
		if _, dup := c.featureSet[f]; !dup {
			c.featureSet[f] = struct{}{}
			c.features = append(c.features, f)
		}
	}
	if c.log == nil {
		// Like the standard library's own packages: mistakes are visible
		// out of the box, and slog.SetDefault routes them.
		c.log = slog.Default()
	}
	c.http = cfg.httpClient
	if c.http == nil {
		c.http = &http.Client{
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
			// A redirect would carry WithHeaders' values (an API key, say)
			// to whatever host it names: Go strips only Authorization and
			// cookies across hosts. Like the Python client, follow none; a
			// 3xx is an answer the caller sees as an *HTTPError.
			CheckRedirect: refuseRedirect,
		}
		c.ownHTTP = true
	}
	c.disp = cfg.dispatcher
	if c.disp == nil && len(cfg.hooks) > 0 {
		c.disp = dispatch.New(dispatch.WithLogger(c.log))
		c.ownDisp = true
	}
	for i, h := range cfg.hooks {
		name := fmt.Sprintf("heksher.client.%p.hook.%d", c, i)
		var sopts []dispatch.SubscribeOption
		if cfg.hookQueue > 0 {
			sopts = append(sopts, dispatch.QueueSize(cfg.hookQueue))
		}
		if cfg.hookDeadline > 0 {
			sopts = append(sopts, dispatch.Deadline(cfg.hookDeadline))
		}
		if err := c.disp.Subscribe(name, event.All, hookSubscriber{h: h, log: c.log}, sopts...); err != nil {
			c.closeDispatcher()
			return nil, fmt.Errorf("heksher: hook %d: %w", i, err)
		}
	}
	c.tracking.Store(newTrackConfig(c.features, map[string]trackEntry{}))
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.status.Origin = OriginDefaults
	return c, nil
}

func closedChan() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}

// ContextFeatures returns the client's context features, as given to
// NewClient (without duplicates).
func (c *Client) ContextFeatures() []string { return slices.Clone(c.features) }

// NewFeatures prepares the explicit context values of one request for
// several settings, like [NewFeatures], with this client's warnings (unknown
// features, untracked values) instead of the main client's.
func (c *Client) NewFeatures(ctx context.Context, explicit map[string]string) Features {
	return newFeatures(ctx, c, explicit)
}

// ModificationLock returns the lock the client holds while it applies an
// update (docs/CONFORMANCE.md B61): whoever holds it knows no setting value changes until
// it is released. Get never takes it. Holding it while waiting for Reload or
// SetAsMain deadlocks until their context ends.
func (c *Client) ModificationLock() sync.Locker { return &c.modLock }

// register queues a new setting for declaration (B27–B28). A closed client
// still queues it, which is how a forgotten closed main client is detected.
func (c *Client) register(s settingHandle) {
	c.mu.Lock()
	prev := c.sameNameLocked(s.settingName())
	c.queue = append(c.queue, s)
	if len(c.queue) == 1 && !c.declBusy {
		c.declIdle = make(chan struct{})
	}
	c.mu.Unlock()
	reportRedeclared(c.log, prev, s)
	select {
	case c.declWake <- struct{}{}:
	default:
	}
}

// PendingDeclarations returns the number of settings waiting to be declared.
func (c *Client) PendingDeclarations() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.queue)
	if c.declBusy {
		n++
	}
	return n
}

// Tracked returns the names of the settings the client keeps up to date,
// sorted.
func (c *Client) Tracked() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return sortedKeys(c.tracked)
}

// Settings returns the settings the client keeps up to date, sorted by name.
func (c *Client) Settings() []AnySetting {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]AnySetting, 0, len(c.tracked))
	for _, n := range sortedKeys(c.tracked) {
		out = append(out, c.tracked[n].asAny())
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// supplier methods.

func (c *Client) isLive() bool         { return !c.closedFlag.Load() }
func (c *Client) logger() *slog.Logger { return c.log }

// SetAsMain makes c the main client and starts it (B26–B27): it takes the
// main slot, checks the service's context features (a mismatch or failure is
// only logged), declares every pending setting, and runs the first update.
// It returns once the first update is done.
//
// # Errors
//
//   - [ErrClosed] if c was closed; [ErrAlreadyMain] if c was already started
//     (by SetAsMain or [Client.Start]);
//   - a [*MainSwitchError] (matching [ErrMainSwitch]) if the slot cannot be
//     taken; nothing else happens then;
//   - with [WithStrictDeclarations], the [*DeclarationError]s of the pending
//     settings that could not be declared or that the service answered
//     with a conflict ([*ConflictError]);
//   - the first update's error ([*HTTPError], [*RequestError],
//     [*DecodeError]), or ctx's error wrapped, if ctx ends first. In these
//     cases c is closed before SetAsMain returns (nothing keeps running), but
//     stays in the main slot. The error says what failed once and what to
//     do next; the first update's failure is not logged as well.
//
// With [WithDegradedStart], neither a failed first update nor the end of ctx
// is an error: SetAsMain returns nil once the first attempt failed or ctx
// ended, after loading the snapshot if [WithSnapshotFile] names one, and c
// keeps declaring and updating in the background ([Client.Status] tells
// which values are served).
func (c *Client) SetAsMain(ctx context.Context) error {
	if err := c.checkStartable(); err != nil {
		return err
	}
	if err := c.takeMain(); err != nil {
		return err
	}
	return c.start(ctx)
}

// Start starts c like SetAsMain but without taking the main slot: c declares
// and keeps up to date the settings bound to it (see WithClient), and only
// those; settings created without a client keep registering with the main
// slot. It is for programs that run several clients, such as a plugin host
// embedded in an application that has its own main client. Errors are those
// of SetAsMain, minus the main-slot ones.
func (c *Client) Start(ctx context.Context) error {
	if err := c.checkStartable(); err != nil {
		return err
	}
	return c.start(ctx)
}

func (c *Client) checkStartable() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return ErrClosed
	case c.started:
		return ErrAlreadyMain
	}
	return nil
}

func (c *Client) start(ctx context.Context) error {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return ErrClosed
	case c.started:
		c.mu.Unlock()
		return ErrAlreadyMain
	}
	c.started = true
	c.status.Running = true
	c.mu.Unlock()

	c.checkContextFeatures(ctx)

	if !c.startLoop(c.declarationLoop) {
		return ErrClosed
	}
	if err := c.waitDeclarations(ctx); err != nil {
		if c.cfg.degraded && ctx.Err() != nil && c.ctx.Err() == nil {
			// Keep declaring in the background; update once they are done.
			c.startLoop(func() {
				if c.waitDeclarations(c.ctx) != nil {
					c.wg.Done()
					return
				}
				c.markStartDone()
				c.updateLoop()
			})
			c.degradedFallback(err)
			return nil
		}
		c.closeAfterFailedStart()
		return wrapOp("set as main: waiting for the declarations", err, nextAfterFailedStart)
	}
	startErrs := c.markStartDone()
	if c.cfg.strict && len(startErrs) > 0 {
		c.closeAfterFailedStart()
		return &joinedError{head: "set as main: declarations refused or failed", errs: startErrs,
			next: "the client is closed; correct the declarations or the service, or drop WithStrictDeclarations to start without them"}
	}
	if !c.startLoop(c.updateLoop) {
		return ErrClosed
	}
	err := c.waitAttempt(ctx, 1)
	if err == nil {
		return nil
	}
	if c.cfg.degraded && c.ctx.Err() == nil {
		c.degradedFallback(err)
		return nil
	}
	c.closeAfterFailedStart()
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = ctx.Err()
	}
	return wrapOp("set as main: first update", err, nextAfterFailedStart)
}

// nextAfterFailedStart is the next step a failed start suggests.
const nextAfterFailedStart = "the client is closed; start the service or correct its URL, " +
	"or use WithDegradedStart to serve the local defaults and retry in the background"

// markStartDone ends the start phase and returns the declaration failures
// collected during it.
func (c *Client) markStartDone() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs := c.startErrs
	c.startErrs, c.startDone = nil, true
	return errs
}

// degradedFallback serves the snapshot, if any, when a degraded start could
// not get a first answer.
func (c *Client) degradedFallback(err error) {
	c.loadSnapshotOnce()
	serving := "the local defaults"
	if c.Status().Origin == OriginSnapshot {
		serving = "the saved snapshot"
	}
	msg := "heksher: service unavailable at start; serving " + serving + " and retrying in the background"
	if c.outageReported() {
		// The failure itself was logged once already (one failure, one
		// line); this only says what the client does about it.
		c.log.Info(msg)
		return
	}
	c.log.Warn(msg, "error", err)
}

func (c *Client) closeAfterFailedStart() { _ = c.Close() }

// startLoop starts a background loop unless c is closed (a Close running
// at the same time must not miss it in its wait).
func (c *Client) startLoop(loop func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go loop()
	return true
}

func (c *Client) checkContextFeatures(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.requestTimeout)
	defer cancel()
	got, err := c.getContextFeatures(ctx)
	if err != nil {
		c.logFailure(slog.LevelError, "failure to get context_features from heksher service", err)
		return
	}
	if !slices.Equal(got, c.features) {
		c.log.Warn("context feature mismatch", "service", got, "client", c.features)
	}
}

// Close stops the background work (cancelling requests in flight), waits for
// it, publishes the Closing event, closes the client's own hook dispatcher
// (delivering what is queued; each hook is bounded by its deadline) and
// releases idle connections. A hook that ignores its deadline delays Close
// by at most twice the hook deadline (at least 1s); its undelivered events
// are dropped. It is idempotent and safe to call before
// SetAsMain. It does not vacate the main slot: settings keep their last
// values and keep resolving with c's defaults. If the loops take longer than
// 5s to end, Close logs what it is waiting for.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.closeDone
		return nil
	}
	c.closed = true
	c.status.Running = false
	c.closedFlag.Store(true)
	c.mu.Unlock()
	defer close(c.closeDone)

	c.cancel()
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	hang := time.NewTicker(5 * time.Second)
	defer hang.Stop()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-hang.C:
			c.log.Warn("heksher: close still waiting for the declaration and update loops")
		}
	}
	c.mu.Lock()
	_, retrying := c.unprocessedLocked()
	c.mu.Unlock()
	if len(retrying) > 0 {
		// Nothing declares them now; a client taking over as main is
		// refused for their sake (see unprocessedError).
		c.log.Warn("heksher: closed with declarations awaiting a retry; these settings were never declared", "settings", retrying)
	}
	c.publish(func(h event.Header) event.Event { return &event.Closing{Header: h} })
	var err error
	if c.ownDisp {
		// Deliver what is queued, but never wait long for a hook that
		// ignores its deadline: the rest of its queue is dropped.
		deadline := c.cfg.hookDeadline
		if deadline <= 0 {
			deadline = dispatch.DefaultDeadline
		}
		ctx, cancel := context.WithTimeout(context.Background(), max(2*deadline, time.Second))
		defer cancel()
		if derr := c.disp.Close(ctx); derr != nil {
			err = fmt.Errorf("heksher: close: hooks: %w", derr)
		}
	}
	if c.ownHTTP {
		c.http.CloseIdleConnections()
	}
	return err
}

func (c *Client) closeDispatcher() {
	if c.ownDisp {
		_ = c.disp.Close(context.Background())
	}
}

// publish numbers an event and hands it to the dispatcher, in one step so
// that numbers follow publication order.
func (c *Client) publish(mk func(event.Header) event.Event) {
	if c.disp == nil {
		return
	}
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	c.seq++
	c.disp.Publish(mk(event.Header{Seq: c.seq, Time: time.Now()}))
}
