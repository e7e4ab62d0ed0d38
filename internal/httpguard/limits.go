package httpguard

import (
	"io"
	"net/http"
	"sync"
	"time"
)

// Default bounds used by [Limits.Apply] for zero fields.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadBodyTimeout   = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxHeaderBytes    = 64 << 10
)

// Limits bound how long a client may take to send a request. The zero
// value means the defaults above.
type Limits struct {
	// ReadHeaderTimeout bounds reading the request line and headers;
	// default DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// ReadBodyTimeout bounds reading the body, counted from when the
	// handler starts; default DefaultReadBodyTimeout. A body that is not
	// complete in time fails to read (the handler sees an error for which
	// errors.Is(err, os.ErrDeadlineExceeded) holds) and the connection is
	// closed after the answer. Once the body has been read to its end, the
	// deadline is lifted: the answer itself may take as long as it needs.
	ReadBodyTimeout time.Duration
	// IdleTimeout bounds how long a kept-alive connection waits for its
	// next request; default DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps the size of the request headers; default
	// DefaultMaxHeaderBytes.
	MaxHeaderBytes int
}

// Apply sets srv's read bounds and wraps srv.Handler (set it first) with
// the body deadline. It sets no WriteTimeout: long responses and long
// polls are the handler's business.
func (l Limits) Apply(srv *http.Server) {
	l = l.withDefaults()
	srv.ReadHeaderTimeout = l.ReadHeaderTimeout
	srv.IdleTimeout = l.IdleTimeout
	srv.MaxHeaderBytes = l.MaxHeaderBytes
	srv.Handler = BodyDeadline(l.ReadBodyTimeout, srv.Handler)
}

func (l Limits) withDefaults() Limits {
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if l.ReadBodyTimeout <= 0 {
		l.ReadBodyTimeout = DefaultReadBodyTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return l
}

// BodyDeadline returns next behind a read deadline of d on the request
// body: set when the request starts, lifted when the body has been read to
// its end. A request without a body gets no deadline: the server is then
// already watching the connection for the client going away, and a
// deadline there would cancel the request's context (cutting a long
// poll). [Limits.Apply] installs it; use it directly for a handler served
// by a server configured elsewhere.
func BodyDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(d)); err != nil {
			// The writer cannot set deadlines (a test recorder): serve as is.
			next.ServeHTTP(w, r)
			return
		}
		r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		next.ServeHTTP(w, r)
		// A body not read to its end keeps its deadline: what the server
		// still reads of it after the handler is bounded too.
	})
}

// deadlineBody lifts the read deadline when the body reaches its end.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	once sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(func() { _ = b.rc.SetReadDeadline(time.Time{}) })
	}
	return n, err
}
