package hekshertest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"time"
)

// Fault is a scripted misbehaviour for one request. The zero Fault does
// nothing: the request is served normally. Fields combine: Delay first,
// then CloseConnection, or an answer (scripted with Status, or the real
// one) that is cut half-way when CutBody is set.
type Fault struct {
	// Match selects the request the fault applies to; nil matches any.
	Match func(r *http.Request) bool

	// Delay holds the request this long before answering (the wait ends
	// early if the client goes away).
	Delay time.Duration

	// Status, when not 0, answers with this status, Body and Header instead
	// of the real answer.
	Status int
	Body   string
	Header http.Header

	// CutBody sends the headers (with the full Content-Length) and only the
	// first half of the body, then closes the connection.
	CutBody bool

	// CloseConnection closes the connection without any answer.
	CloseConnection bool

	// Times is how many matching requests get the fault before it is
	// removed; 0 means once.
	Times int
}

// EnqueueFault adds a fault: the next matching request (or the next
// f.Times ones) gets it, then it is removed. Faults are tried in the order
// enqueued.
func (s *Server) EnqueueFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// PendingFaults returns how many enqueued faults have not been used yet.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

// Intercept installs fn as a middleware for every later request: it may
// answer itself or call next to get the real answer. nil removes it.
// Enqueued faults apply before fn.
func (s *Server) Intercept(fn func(w http.ResponseWriter, r *http.Request, next http.Handler)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.intercept = fn
}

// Request is what the server recorded of one received request.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Query    url.Values
	Header   http.Header
	Body     []byte
	Time     time.Time
}

// Requests returns a copy of every request received so far, in arrival
// order (faulted ones included).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.srv == nil { // stopping: answer nothing
		s.mu.Unlock()
		hijackClose(w)
		return
	}
	s.handlers.Add(1)
	s.inflight.Add(1)
	s.mu.Unlock()
	defer func() {
		s.inflight.Add(-1)
		s.handlers.Done()
	}()
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Query: r.URL.Query(),
		Header: r.Header.Clone(), Body: body, Time: time.Now(),
	})
	var fault *Fault
	for i := range s.faults {
		f := s.faults[i]
		if f.Match != nil && !f.Match(r) {
			continue
		}
		fault = &f
		if s.faults[i].Times > 1 {
			s.faults[i].Times--
		} else {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		break
	}
	intercept := s.intercept
	s.mu.Unlock()

	next := s.engine.Handler()
	if intercept != nil {
		inner := next
		next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { intercept(w, r, inner) })
	}
	if fault == nil {
		next.ServeHTTP(w, r)
		return
	}
	s.applyFault(w, r, fault, next)
}

func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *Fault, next http.Handler) {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if f.CloseConnection {
		hijackClose(w)
		return
	}
	if !f.CutBody {
		if f.Status == 0 {
			next.ServeHTTP(w, r)
			return
		}
		for k, vs := range f.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, f.Body)
		return
	}
	// Build the whole answer, then send half of it.
	rec := httptest.NewRecorder()
	if f.Status == 0 {
		next.ServeHTTP(rec, r)
	} else {
		for k, vs := range f.Header {
			rec.Header()[k] = vs
		}
		rec.WriteHeader(f.Status)
		_, _ = io.WriteString(rec, f.Body)
	}
	full := rec.Body.Bytes()
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = buf.WriteString("HTTP/1.1 " + strconv.Itoa(rec.Code) + " " + http.StatusText(rec.Code) + "\r\n")
	h := rec.Header().Clone()
	h.Set("Content-Length", strconv.Itoa(len(full)))
	_ = h.Write(buf)
	_, _ = buf.WriteString("\r\n")
	_, _ = buf.Write(full[:len(full)/2])
	_ = buf.Flush()
}

// hijackClose drops the connection without writing anything.
func hijackClose(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	_ = conn.Close()
}

// SetDatabaseDown makes the server answer the way the reference does while
// its PostgreSQL database is unreachable (down = true), or normally again
// (false). While down, /api/health answers 500 with its usual body
// {"version": ...}, and every API request that passes validation answers
// 500 "Internal Server Error" (text/plain) without changing the state; the
// state helpers (Declare, AddRule, ...) fail the same way. Unlike the
// reference, which checks its database every 5 s, the change is immediate.
// By default the database is up and health is always 200.
func (s *Server) SetDatabaseDown(down bool) { s.engine.SetDatabaseDown(down) }
