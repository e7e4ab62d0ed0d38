package host

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/host/config"
)

// TestEmbeddedServerRefusesRebindingAndCrossSiteWrites plays what a page
// in the operator's browser can send to the embedded server: its own name
// as Host (DNS rebinding) and cross-site writes.
func TestEmbeddedServerRefusesRebindingAndCrossSiteWrites(t *testing.T) {
	cfg := config.Config{ContextFeatures: []string{"user"}}
	cfg.Embedded.Listen = "127.0.0.1:0"
	e, err := startEmbedded(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	addr := e.ln.Addr().String()
	rule := `{"setting":"s","feature_values":{"user":"a"},"value":1}`
	write := func(host, headers string) string {
		return "POST /api/v1/rules HTTP/1.1\r\nHost: " + host + "\r\n" + headers +
			"Content-Length: " + strconv.Itoa(len(rule)) + "\r\nConnection: close\r\n\r\n" + rule
	}
	tests := []struct {
		name, request string
		status        int
	}{
		{"rebinding read", "GET /api/v1/context_features HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", 421},
		{"rebinding write", write("evil.example", "Content-Type: application/json\r\n"), 421},
		{"cross-site write", write(addr, "Content-Type: application/json\r\nSec-Fetch-Site: cross-site\r\n"), 403},
		{"form write", write(addr, "Content-Type: text/plain\r\n"), 415},
		{"loopback read", "GET /api/v1/context_features HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n", 200},
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
			if resp.StatusCode != tc.status || (tc.status != 200 && strings.Contains(string(body), "user")) {
				t.Fatalf("got %d %q, want %d", resp.StatusCode, body, tc.status)
			}
		})
	}
}
