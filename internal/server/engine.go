package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heksher-go/heksher/internal/wire"
)

// DefaultVersion is the version /api/health reports unless Options.Version
// says otherwise: the reference release this server is compatible with.
const DefaultVersion = "0.5.7"

// Options configures an [Engine]. The zero value is a valid configuration:
// no context features, reference bugs reproduced where docs/DEVSERVER.md says so, no
// persistence, logs discarded.
type Options struct {
	// ContextFeatures are created, in this order, before anything else (the
	// analogue of the reference's HEKSHER_STARTUP_CONTEXT_FEATURES). Names
	// must match [a-zA-Z_0-9]+ and be unique.
	ContextFeatures []string

	// Version is reported by /api/health. Default DefaultVersion.
	Version string

	// Fix switches reference behaviours that are reproduced by default to
	// the intended behaviour, one field per behaviour (docs/DEVSERVER.md).
	// The zero value reproduces the reference.
	Fix Fixes

	// DataFile, when set, makes the state persistent: it is loaded by New if
	// it exists and rewritten atomically after every change.
	DataFile string

	// Logger receives one record per request and persistence problems.
	// Default: discard.
	Logger *slog.Logger

	// Watch configures the long poll on GET /api/v1/query, an addition to
	// v1 (docs/DEVSERVER.md, "Watch"). Default: off, as in the real
	// service.
	Watch WatchOptions
}

// Engine is an in-memory Heksher v1 server. All methods are safe for
// concurrent use. Build one with [New]; serve it with [Engine.Handler].
type Engine struct {
	opts Options
	log  *slog.Logger

	mu    sync.RWMutex
	st    *state
	gen   uint64 // bumped by every change
	cache queryCache
	watch watches // the change notification and the watches held

	bytesPerSetting atomic.Int64 // of the last query answer rendered, a buffer size hint

	dbDown atomic.Bool // SetDatabaseDown: answer as the reference without its database

	// saved is the state as last written to Options.DataFile (or as loaded):
	// what a restart would find. A change that cannot be written rolls
	// back to it. persistFailed says the last write failed. Both are
	// guarded by mu.
	saved         *snapshot
	persistFailed bool

	persistMu  sync.Mutex
	persistErr error
}

// New builds an Engine: it loads Options.DataFile when it exists, then
// makes sure every Options.ContextFeatures entry exists (appending missing
// ones), as the reference does at start-up.
//
// # Errors
//
// An invalid or duplicate context-feature name; a data file whose folder
// is missing or not writable, or that cannot be read, parsed ([ErrBadData])
// or written.
func New(opts Options) (*Engine, error) {
	if opts.Version == "" {
		opts.Version = DefaultVersion
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{opts: opts, log: log, st: newState(), watch: newWatches(opts.Watch)}
	if opts.DataFile != "" {
		if err := checkDataDir(opts.DataFile); err != nil {
			return nil, err
		}
		snap, err := readDataFile(opts.DataFile)
		if err != nil {
			return nil, err
		}
		if snap != nil {
			st, err := snap.toState()
			if err != nil {
				return nil, fmt.Errorf("server: data file %s: %w", opts.DataFile, err)
			}
			e.st = st
		}
		e.saved = e.st.snapshot()
	}
	if err := e.ensureFeatures(opts.ContextFeatures); err != nil {
		return nil, err
	}
	if err := e.PersistError(); err != nil {
		return nil, err
	}
	return e, nil
}

// ensureFeatures makes every name of want exist. As in the reference,
// when the existing features appear in want in the same relative order,
// the result is exactly want (missing features are inserted at their
// positions). The reference refuses to start otherwise; here the existing
// order is kept and the missing names are appended, with a warning.
func (e *Engine) ensureFeatures(want []string) error {
	seen := map[string]bool{}
	for _, f := range want {
		if !patFeatureName.match(f) {
			return fmt.Errorf("%w: %q does not match [a-zA-Z_0-9]+", ErrBadFeature, f)
		}
		if seen[f] {
			return fmt.Errorf("%w: %q is listed twice", ErrBadFeature, f)
		}
		seen[f] = true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	have := e.st.features
	next := slices.Clone(want)
	if !isSubsequence(have, want) {
		e.log.Warn("server: stored context features are not in the order of the start-up list; appending the missing ones",
			"stored", have, "start-up", want)
		next = slices.Clone(have)
		for _, f := range want {
			if !slices.Contains(next, f) {
				next = append(next, f)
			}
		}
	}
	if len(want) == 0 || slices.Equal(next, have) {
		return nil
	}
	e.st.features = next
	e.changedLocked()
	return nil
}

// isSubsequence reports whether every element of sub appears in list, in
// the same relative order.
func isSubsequence(sub, list []string) bool {
	i := 0
	for _, x := range list {
		if i < len(sub) && sub[i] == x {
			i++
		}
	}
	return i == len(sub)
}

// SaveFile writes the whole state to path atomically, in the data-file
// format Options.DataFile reads (a snapshot or backup of a running engine).
//
// # Errors
//
// The file or its directory cannot be written or synced.
func (e *Engine) SaveFile(path string) error {
	e.mu.RLock()
	snap := e.st.snapshot()
	e.mu.RUnlock()
	return writeDataFile(path, snap)
}

// changedLocked records a change: the query cache is dropped and the data
// file rewritten. When the file cannot be written (and synced), the change
// is marked failed: withState then rolls the state back to the last
// written one and answers 500, so nothing is acknowledged that a restart
// would not find. Watches are woken. e.mu must be held for writing.
//
// Everything that replaces or changes the state goes through it (or
// through settleLocked's rollback), so that watches see every change.
func (e *Engine) changedLocked() {
	e.gen++
	e.cache.clear()
	e.watch.changed()
	if e.opts.DataFile == "" {
		return
	}
	snap := e.st.snapshot()
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	err := writeDataFile(e.opts.DataFile, snap)
	if err == nil {
		e.saved, e.persistFailed, e.persistErr = snap, false, nil
		return
	}
	e.persistFailed, e.persistErr = true, err
	e.log.Error("server: persisting state failed; the change is refused and rolled back",
		"file", e.opts.DataFile, "err", err)
	if errors.Is(err, errReplaced) {
		// The new file is in place but not known to be durable: put the
		// last acknowledged state back so that a restart cannot find the
		// refused change.
		if err := writeDataFile(e.opts.DataFile, e.saved); err != nil {
			e.log.Error("server: restoring the data file failed; it may hold the refused change",
				"file", e.opts.DataFile, "err", err)
		}
	}
}

// settleLocked ends a writing request: after a failed write of the data
// file, the state goes back to the last written one and the answer is
// 500. e.mu must be held for writing.
func (e *Engine) settleLocked(resp *response) *response {
	if !e.persistFailed {
		return resp
	}
	e.persistFailed = false
	st, err := e.saved.toState()
	if err != nil {
		// Not expected: saved was built from a valid state.
		e.log.Error("server: rolling back to the last written state failed", "err", err)
		return internalError()
	}
	e.st = st
	e.gen++
	e.cache.clear()
	e.watch.changed()
	return internalError()
}

// PersistError returns the error of the last failed write of the data
// file (whose change was refused), or nil once a later write succeeded.
func (e *Engine) PersistError() error {
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	return e.persistErr
}

// SetDatabaseDown makes the engine answer the way the reference does while
// its PostgreSQL database is unreachable (down = true) or normally again
// (false); the state is kept either way. While down, /api/health answers
// 500 with its usual body, and every API request that gets past
// validation (which the reference does without its database) answers 500
// "Internal Server Error" as text (error kind X) without changing
// anything. The reference notices an outage up to 5 s late; the engine at
// once. The default is up: without a database of its own the engine is
// always healthy (reference bug 20, docs/DEVSERVER.md).
func (e *Engine) SetDatabaseDown(down bool) { e.dbDown.Store(down) }

// Handler returns the HTTP handler serving the Heksher API.
func (e *Engine) Handler() http.Handler { return http.HandlerFunc(e.serveHTTP) }

func (e *Engine) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	resp := e.handle(r)
	resp.write(w)
	e.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.String("query", r.URL.RawQuery), slog.Int("status", resp.status),
		slog.Duration("took", time.Since(start)))
}

func (e *Engine) handle(r *http.Request) *response {
	var body []byte
	present := false
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return textResp(http.StatusRequestTimeout, "request body not received in time")
		}
		if err != nil {
			return textResp(http.StatusBadRequest, "cannot read request body")
		}
		if len(b) > maxBody {
			return textResp(http.StatusRequestEntityTooLarge, "request body too large")
		}
		body, present = b, len(b) > 0
	}
	return e.safeRoute(&request{
		method:      r.Method,
		path:        r.URL.Path,
		body:        body,
		hasBody:     present,
		contentType: r.Header.Get("Content-Type"),
		ifNoneMatch: r.Header.Values("If-None-Match"),
		prefer:      r.Header.Values(wire.HeaderPrefer),
		ctx:         r.Context(),
		host:        r.Host,
		tls:         r.TLS != nil,
		rawQuery:    r.URL.RawQuery,
	})
}

// safeRoute answers 500 (error kind X) instead of crashing if a handler
// panics; the state is never left half-changed because handlers validate
// everything before they change anything.
func (e *Engine) safeRoute(rq *request) (resp *response) {
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("server: handler panic", "method", rq.method, "path", rq.path, "panic", fmt.Sprint(p))
			resp = internalError()
		}
	}()
	return e.route(rq)
}

// request is what a route handler sees of an HTTP request.
type request struct {
	method, path string
	params       map[string]string
	query        url.Values // rawQuery parsed, on first use (queryParam)
	parsed       bool
	body         []byte
	hasBody      bool
	contentType  string
	ifNoneMatch  []string
	prefer       []string        // Prefer header lines (a watch's wait)
	ctx          context.Context // ends when the client goes away; nil for Do
	host         string
	tls          bool
	rawQuery     string
}

// queryParam returns the last value of a query parameter (the reference
// lets the last occurrence win).
func (rq *request) queryParam(name string) (string, bool) {
	if !rq.parsed {
		rq.query, rq.parsed = parseQuery(rq.rawQuery), true
	}
	vs, ok := rq.query[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// Do serves one API request without HTTP: method, path (with an optional
// query string) and a JSON body (nil for none). It returns the status and
// body exactly as the HTTP handler would, so Go callers (seeding, tests)
// get the same semantics as HTTP clients. ctx is accepted for symmetry with
// I/O calls; a request is never interrupted half-way.
func (e *Engine) Do(ctx context.Context, method, target string, body []byte) (status int, respBody []byte, err error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	u, err := url.Parse(target)
	if err != nil {
		return 0, nil, fmt.Errorf("server: bad target %q: %w", target, err)
	}
	ct := ""
	if body != nil {
		ct = ctypeJSON
	}
	resp := e.safeRoute(&request{method: method, path: u.Path, body: body, hasBody: len(body) > 0,
		contentType: ct, host: "localhost", rawQuery: u.RawQuery})
	return resp.status, resp.body, nil
}
