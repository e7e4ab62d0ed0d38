package httpguard

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// serveLimited starts h on a real loopback listener with the given limits.
func serveLimited(t *testing.T, l Limits, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	l.Apply(srv)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return ln.Addr().String()
}

// readBody answers 408 when the body does not arrive in time, as the
// project's servers do.
var readBody = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if _, err := io.ReadAll(r.Body); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			http.Error(w, "body too slow", http.StatusRequestTimeout)
			return
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	_, _ = io.WriteString(w, "ok")
})

// trickle writes prefix, then one byte every interval until the peer
// closes the connection or stop is closed; it reports when it stopped.
func trickle(conn net.Conn, prefix string, interval time.Duration, stop <-chan struct{}) <-chan struct{} {
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		if _, err := io.WriteString(conn, prefix); err != nil {
			return
		}
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	return ended
}

// closedWithin reads from conn until the server closes it and fails the
// test if that takes longer than limit.
func closedWithin(t *testing.T, conn net.Conn, limit time.Duration) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(limit))
	got, err := io.ReadAll(conn)
	took := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still held the connection after %v (got %q)", limit, got)
	}
	return string(got), took
}

func TestSlowBodyIsCut(t *testing.T) {
	const bound = 500 * time.Millisecond
	addr := serveLimited(t, Limits{ReadBodyTimeout: bound}, readBody)
	for _, tc := range []struct{ name, head string }{
		{"content-length", "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"},
		{"chunked", "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			stop := make(chan struct{})
			ended := trickle(conn, tc.head, 50*time.Millisecond, stop)
			defer func() { close(stop); <-ended }()
			// The promise is the bound; the slack is for a loaded machine.
			got, took := closedWithin(t, conn, bound+10*time.Second)
			if !strings.HasPrefix(got, "HTTP/1.1 408") {
				t.Fatalf("answer to a trickled body: %q", got)
			}
			t.Logf("closed after %v", took)
		})
	}
}

func TestSlowHeaderIsCut(t *testing.T) {
	const bound = 500 * time.Millisecond
	addr := serveLimited(t, Limits{ReadHeaderTimeout: bound}, readBody)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stop := make(chan struct{})
	ended := trickle(conn, "GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ", 50*time.Millisecond, stop)
	defer func() { close(stop); <-ended }()
	closedWithin(t, conn, bound+10*time.Second)
}

func TestSlowAnswersAreNotCut(t *testing.T) {
	const bound = 200 * time.Millisecond
	const chunks = 8
	stream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc := http.NewResponseController(w)
		for i := range chunks { // 8 × 100 ms: four times the read bound
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			fmt.Fprintf(w, "chunk %d\n", i)
			_ = rc.Flush()
		}
	})
	longPoll := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			http.Error(w, "cancelled", http.StatusServiceUnavailable)
		case <-time.After(4 * bound):
			_, _ = io.WriteString(w, "changed")
		}
	})
	mux := http.NewServeMux()
	mux.Handle("/stream", stream)
	mux.Handle("/poll", longPoll)
	addr := serveLimited(t, Limits{ReadBodyTimeout: bound, ReadHeaderTimeout: bound, IdleTimeout: bound}, mux)
	client := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	tests := []struct {
		name, method, path, body, want string
	}{
		{"streamed answer after a body", "POST", "/stream", `{"a":1}`, "chunk 7\n"},
		{"streamed answer without a body", "GET", "/stream", "", "chunk 7\n"},
		{"long poll", "GET", "/poll", "", "changed"},
		{"long poll with a body", "POST", "/poll", `{"a":1}`, "changed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, "http://"+addr+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.body == "" {
				req.Body = http.NoBody
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(bufio.NewReader(resp.Body))
			if err != nil || resp.StatusCode != 200 || !strings.HasSuffix(string(b), tc.want) {
				t.Fatalf("got %d %q (%v), want an answer ending in %q", resp.StatusCode, b, err, tc.want)
			}
		})
	}
}
