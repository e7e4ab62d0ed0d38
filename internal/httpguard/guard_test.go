package httpguard

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serveGuarded starts a real loopback listener serving an answer "ok"
// behind Guard(addr, token) and returns its address.
func serveGuarded(t *testing.T, token string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mw, err := Guard(ln.Addr().String(), token, "test")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))}
	Limits{}.Apply(srv)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return ln.Addr().String()
}

// raw sends one request written by hand (so every header, Host included,
// is exactly what a hostile client sends) and returns the status and body.
func raw(t *testing.T, addr, request string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", request, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func req(method, host string, headers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s /api/v1/reload HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, host)
	body := ""
	for _, h := range headers {
		if rest, ok := strings.CutPrefix(h, "BODY:"); ok {
			body = rest
			continue
		}
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n" + body)
	return b.String()
}

func TestGuardWithoutToken(t *testing.T) {
	addr := serveGuarded(t, "")
	_, port, _ := net.SplitHostPort(addr)
	tests := []struct {
		name     string
		request  string
		status   int
		bodyPart string
	}{
		// DNS rebinding: the attacker's own name, resolved to 127.0.0.1.
		{"foreign host", req("GET", "evil.example"), 421, `host "evil.example" is not served here`},
		{"rebinding name with port", req("GET", "rebind.attacker.test:"+port), 421, "not served here"},
		{"name that starts like loopback", req("GET", "127.0.0.1.nip.io:"+port), 421, "not served here"},
		{"name ending in localhost", req("GET", "localhost.evil.example"), 421, "not served here"},
		{"name under localhost", req("GET", "evil.localhost"), 421, "not served here"},
		{"foreign host on a write", req("POST", "evil.example"), 421, "not served here"},
		{"localhost", req("GET", "localhost"), 200, "ok"},
		{"localhost with port", req("GET", "localhost:"+port), 200, "ok"},
		{"LOCALHOST", req("GET", "LOCALHOST:"+port), 200, "ok"},
		{"127.0.0.1", req("GET", "127.0.0.1:"+port), 200, "ok"},
		{"127/8", req("GET", "127.9.8.7"), 200, "ok"},
		{"IPv6 loopback", req("GET", "[::1]:"+port), 200, "ok"},
		{"IPv6 loopback no port", req("GET", "[::1]"), 200, "ok"},
		// Writes from a browser on another site.
		{"cross-site origin", req("POST", "127.0.0.1:"+port, "Origin: http://evil.example"), 403, "cross-origin request refused"},
		{"origin of another port", req("POST", "127.0.0.1:"+port, "Origin: http://127.0.0.1:1"), 403, "cross-origin"},
		{"null origin", req("POST", "127.0.0.1:"+port, "Origin: null"), 403, "cross-origin"},
		{"sec-fetch-site cross-site", req("POST", "127.0.0.1:"+port, "Sec-Fetch-Site: cross-site"), 403, "cross-origin"},
		{"sec-fetch-site same-site", req("DELETE", "127.0.0.1:"+port, "Sec-Fetch-Site: same-site"), 403, "cross-origin"},
		{"sec-fetch-site same-origin", req("POST", "127.0.0.1:"+port, "Sec-Fetch-Site: same-origin", "Origin: http://127.0.0.1:"+port), 200, "ok"},
		{"sec-fetch-site none", req("POST", "127.0.0.1:"+port, "Sec-Fetch-Site: none"), 200, "ok"},
		{"same origin", req("POST", "127.0.0.1:"+port, "Origin: http://127.0.0.1:"+port), 200, "ok"},
		{"cross-site read is left to the same-origin policy", req("GET", "127.0.0.1:"+port, "Sec-Fetch-Site: cross-site"), 200, "ok"},
		// Bodies a form (or a fetch without preflight) can send.
		{"urlencoded form", req("POST", "localhost", "Content-Type: application/x-www-form-urlencoded", "BODY:a=1"), 415, "application/x-www-form-urlencoded"},
		{"multipart form", req("POST", "localhost", "Content-Type: multipart/form-data; boundary=x", "BODY:--x--"), 415, "refused"},
		{"text/plain", req("PUT", "localhost", "Content-Type: Text/Plain; charset=utf-8", `BODY:{"a":1}`), 415, "refused"},
		{"unparsable type", req("POST", "localhost", "Content-Type: ;;", `BODY:{"a":1}`), 415, "refused"},
		{"json", req("POST", "localhost", "Content-Type: application/json", `BODY:{"a":1}`), 200, "ok"},
		{"curl -X POST without a body", req("POST", "127.0.0.1:"+port), 200, "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := raw(t, addr, tc.request)
			if status != tc.status || !strings.Contains(body, tc.bodyPart) {
				t.Fatalf("got %d %q, want %d containing %q", status, body, tc.status, tc.bodyPart)
			}
		})
	}
}

func TestGuardWithToken(t *testing.T) {
	addr := serveGuarded(t, "s3cret")
	tests := []struct {
		name, request string
		status        int
	}{
		{"no credentials", req("GET", "localhost"), 401},
		{"wrong token", req("GET", "localhost", "Authorization: Bearer nope"), 401},
		{"token prefix", req("GET", "localhost", "Authorization: Bearer s3cre"), 401},
		{"other scheme", req("GET", "localhost", "Authorization: Basic s3cret"), 401},
		{"no scheme", req("GET", "localhost", "Authorization: s3cret"), 401},
		{"Bearer", req("GET", "localhost", "Authorization: Bearer s3cret"), 200},
		{"lower-case bearer", req("GET", "localhost", "Authorization: bearer s3cret"), 200},
		{"upper-case bearer", req("GET", "localhost", "Authorization: BEARER s3cret"), 200},
		// The token is what guards a named or remote listener.
		{"any host with the token", req("GET", "heksher.internal:8765", "Authorization: Bearer s3cret"), 200},
		{"cross-site write with the token", req("POST", "localhost", "Authorization: Bearer s3cret", "Sec-Fetch-Site: cross-site"), 403},
		{"form with the token", req("POST", "localhost", "Authorization: Bearer s3cret", "Content-Type: text/plain", "BODY:x"), 415},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := raw(t, addr, tc.request); status != tc.status {
				t.Fatalf("got %d %q, want %d", status, body, tc.status)
			}
		})
	}
}

func TestGuardNeedsTokenOffLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:80", ":80", "10.1.2.3:80", "[::]:80", "example.com:80", "nonsense"} {
		if _, err := Guard(addr, "", ""); !errors.Is(err, ErrNeedToken) {
			t.Errorf("Guard(%q, no token) = %v, want ErrNeedToken", addr, err)
		}
		if _, err := Guard(addr, "t", ""); err != nil {
			t.Errorf("Guard(%q, token) = %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:7070", "[::1]:1", "127.2.3.4:5"} {
		if _, err := Guard(addr, "", ""); err != nil {
			t.Errorf("Guard(%q, no token) = %v", addr, err)
		}
	}
}
