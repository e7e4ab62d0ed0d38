package admin

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawAdmin sends a request written by hand to the admin server, so that
// Host, Origin and the other headers are exactly what a hostile page's
// browser sends.
func rawAdmin(t *testing.T, addr, request string) (int, string) {
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
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminRefusesForeignHostsAndCrossSiteWrites(t *testing.T) {
	b := &fakeBackend{}
	s := start(t, b, Options{})
	_, port, _ := net.SplitHostPort(s.Addr())
	tests := []struct {
		name, request string
		status        int
		reload        bool
	}{
		// A page whose name was rebound to 127.0.0.1 reads every value.
		{"rebinding status", "GET /api/v1/status HTTP/1.1\r\nHost: evil.example:" + port + "\r\n\r\n", 421, false},
		{"rebinding lookup", "GET /api/v1/lookup/banner?user=alice HTTP/1.1\r\nHost: evil.example\r\n\r\n", 421, false},
		{"rebinding page", "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n", 421, false},
		{"rebinding reload", "POST /api/v1/reload HTTP/1.1\r\nHost: evil.example\r\n\r\n", 421, false},
		// A form on another site posting to the loopback address.
		{"cross-site form", "POST /api/v1/reload HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nOrigin: https://evil.example\r\nSec-Fetch-Site: cross-site\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\na=1", 403, false},
		{"old browser cross-site form", "POST /api/v1/reload HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nOrigin: https://evil.example\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\na=1", 403, false},
		{"text/plain fetch", "POST /api/v1/reload HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}", 415, false},
		{"status on loopback", "GET /api/v1/status HTTP/1.1\r\nHost: localhost:" + port + "\r\n\r\n", 200, false},
		{"curl -X POST", "POST /api/v1/reload HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n", 200, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := b.reloads.Load()
			status, body := rawAdmin(t, s.Addr(), tc.request)
			if status != tc.status {
				t.Fatalf("got %d %q, want %d", status, body, tc.status)
			}
			if status != 200 && strings.Contains(body, "banner") {
				t.Fatalf("a refused request saw the settings: %q", body)
			}
			if reloaded := b.reloads.Load() != before; reloaded != tc.reload {
				t.Fatalf("reload ran: %v, want %v", reloaded, tc.reload)
			}
		})
	}
}

func TestAdminTokenSchemeIsCaseInsensitive(t *testing.T) {
	s := start(t, &fakeBackend{}, Options{Token: "t0ken"})
	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		status, body := rawAdmin(t, s.Addr(), "GET /healthz HTTP/1.1\r\nHost: localhost\r\nAuthorization: "+scheme+" t0ken\r\n\r\n")
		if status != 200 {
			t.Errorf("%s: got %d %q", scheme, status, body)
		}
	}
	if status, _ := rawAdmin(t, s.Addr(), "GET /healthz HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic t0ken\r\n\r\n"); status != 401 {
		t.Errorf("Basic scheme: got %d, want 401", status)
	}
}
