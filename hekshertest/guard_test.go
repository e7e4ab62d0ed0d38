package hekshertest

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServerRefusesForeignHostsAndFormWrites sends what a page in a
// developer's browser can send to a test server on loopback.
func TestServerRefusesForeignHostsAndFormWrites(t *testing.T) {
	srv := NewServer(t, WithContextFeatures("user"))
	addr := strings.TrimPrefix(srv.URL, "http://")
	feature := `{"context_feature":"theme"}`
	write := func(host, headers string) string {
		return "POST /api/v1/context_features HTTP/1.1\r\nHost: " + host + "\r\n" + headers +
			"Content-Length: 27\r\nConnection: close\r\n\r\n" + feature
	}
	tests := []struct {
		name, request string
		status        int
	}{
		{"rebinding read", "GET /api/v1/context_features HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", 421},
		{"rebinding write", write("evil.example", "Content-Type: application/json\r\n"), 421},
		{"cross-site write", write(addr, "Content-Type: application/json\r\nOrigin: http://evil.example\r\n"), 403},
		{"form write", write(addr, "Content-Type: application/x-www-form-urlencoded\r\n"), 415},
		{"same-origin write", write(addr, "Content-Type: application/json\r\nOrigin: http://"+addr+"\r\n"), 204},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, tc.request); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("got %d %q, want %d", resp.StatusCode, body, tc.status)
			}
		})
	}
}
