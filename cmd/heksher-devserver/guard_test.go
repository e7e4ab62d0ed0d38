package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rawDo sends a request written by hand, so that Host, Origin and
// Authorization are exactly what a hostile client sends.
func rawDo(t *testing.T, baseURL, request string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(baseURL, "http://"), 5*time.Second)
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

const declareBody = `{"name":"x","configurable_features":["user"],"type":"int","default_value":1}`

func post(host, extra, body string) string {
	return fmt.Sprintf("POST /api/v1/settings/declare HTTP/1.1\r\nHost: %s\r\n%sContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		host, extra, len(body), body)
}

func TestCommandServesOnlyLoopbackHostsAndSameOriginWrites(t *testing.T) {
	p := start(t, "-addr", "127.0.0.1:0", "-context-features", "user", "-seed", "testdata/seed.yaml")
	hostPort := strings.TrimPrefix(p.url, "http://")
	tests := []struct {
		name, request string
		status        int
	}{
		{"rebinding read", "GET /api/v1/query HTTP/1.1\r\nHost: evil.example:" + strings.Split(hostPort, ":")[1] + "\r\nConnection: close\r\n\r\n", 421},
		{"rebinding write", post("evil.example", "Content-Type: application/json\r\n", declareBody), 421},
		{"cross-site fetch", post(hostPort, "Content-Type: application/json\r\nSec-Fetch-Site: cross-site\r\nOrigin: https://evil.example\r\n", declareBody), 403},
		{"cross-site form", post(hostPort, "Content-Type: application/x-www-form-urlencoded\r\nOrigin: https://evil.example\r\n", "a=1"), 403},
		{"text/plain write", post(hostPort, "Content-Type: text/plain\r\n", declareBody), 415},
		{"loopback read", "GET /api/v1/settings/size_limit HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := rawDo(t, p.url, tc.request); status != tc.status {
				t.Fatalf("got %d %q, want %d", status, body, tc.status)
			}
		})
	}
	if status, body := httpDo(t, "GET", p.url+"/api/v1/settings/x", ""); status != 404 {
		t.Fatalf("a refused write was applied: %d %s", status, body)
	}
}

func TestCommandRemoteNeedsToken(t *testing.T) {
	cmd := exec.Command(binary(t), "-addr", "0.0.0.0:0", "-allow-remote", "-context-features", "user")
	cmd.Env = append(os.Environ(), tokenEnv+"=dev-s3cret")
	p := startCmd(t, cmd)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(p.url, "http://"))
	base := "http://127.0.0.1:" + port
	get := func(auth string) string {
		h := ""
		if auth != "" {
			h = "Authorization: " + auth + "\r\n"
		}
		return "GET /api/v1/context_features HTTP/1.1\r\nHost: devbox.lan:" + port + "\r\n" + h + "Connection: close\r\n\r\n"
	}
	for _, tc := range []struct {
		auth   string
		status int
	}{
		{"", 401}, {"Bearer wrong", 401}, {"Basic dev-s3cret", 401},
		{"Bearer dev-s3cret", 200}, {"bearer dev-s3cret", 200}, {"BEARER dev-s3cret", 200},
	} {
		if status, body := rawDo(t, base, get(tc.auth)); status != tc.status {
			t.Errorf("Authorization %q: got %d %q, want %d", tc.auth, status, body, tc.status)
		}
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t); err != nil {
		t.Fatal(err)
	}
}

func TestCommandRefusesMissingDataFolder(t *testing.T) {
	data := filepath.Join(t.TempDir(), "no-such-folder", "state.json")
	// Bounded: a command that accepts the path serves until ctx ends.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := run(ctx, []string{"-addr", "127.0.0.1:0", "-data", data}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "data file folder") || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("run with -data in a missing folder = %v", err)
	}
}

// TestCommandAcknowledgesOnlySavedWrites runs the command under a file
// size limit (ulimit -f: 8 KiB), declares settings until the data file
// can no longer hold them, kills the command with SIGKILL and starts it
// again on the same file: every acknowledged setting is there, and no
// refused one.
func TestCommandAcknowledgesOnlySavedWrites(t *testing.T) {
	data := filepath.Join(t.TempDir(), "state.json")
	cmd := exec.Command("/bin/sh", "-c", `ulimit -f 16 && exec "$0" "$@"`, binary(t),
		"-addr", "127.0.0.1:0", "-context-features", "user", "-data", data)
	p := startCmd(t, cmd)
	var acked, refused []string
	for i := 0; i < 400 && len(refused) < 5; i++ {
		name := fmt.Sprintf("setting_%03d", i)
		body := fmt.Sprintf(`{"name":%q,"configurable_features":["user"],"type":"int","default_value":%d,"metadata":{"filler":"%s"}}`,
			name, i, strings.Repeat("f", 40))
		switch status, answer := httpDo(t, "POST", p.url+"/api/v1/settings/declare", body); {
		case status == 200:
			acked = append(acked, name)
		case status >= 500:
			refused = append(refused, name)
		default:
			t.Fatalf("declare %s: %d %s", name, status, answer)
		}
	}
	if len(acked) == 0 || len(refused) == 0 {
		t.Fatalf("%d acknowledged, %d refused: the file size limit did not bite\n%s", len(acked), len(refused), p.output())
	}
	for _, name := range refused { // not applied in memory either
		if status, _ := httpDo(t, "GET", p.url+"/api/v1/settings/"+name, ""); status != 404 {
			t.Fatalf("refused setting %s is served (%d)", name, status)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.wait(t)

	p2 := start(t, "-addr", "127.0.0.1:0", "-data", data)
	for _, name := range acked {
		if status, body := httpDo(t, "GET", p2.url+"/api/v1/settings/"+name, ""); status != 200 {
			t.Errorf("acknowledged setting %s lost after SIGKILL: %d %s", name, status, body)
		}
	}
	for _, name := range refused {
		if status, _ := httpDo(t, "GET", p2.url+"/api/v1/settings/"+name, ""); status != 404 {
			t.Errorf("refused setting %s survived the restart", name)
		}
	}
	t.Logf("%d writes acknowledged, %d refused", len(acked), len(refused))
	_ = p2.cmd.Process.Signal(syscall.SIGTERM)
	if err := p2.wait(t); err != nil {
		t.Fatal(err)
	}
}

// TestCommandCutsSlowBody trickles a request body one byte every 100 ms:
// the command answers and closes the connection within its -read-timeout
// (plus slack for a loaded machine), and keeps serving others.
func TestCommandCutsSlowBody(t *testing.T) {
	const bound = time.Second
	p := start(t, "-addr", "127.0.0.1:0", "-context-features", "user", "-read-timeout", bound.String())
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stop := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		if _, err := io.WriteString(conn, "POST /api/v1/settings/declare HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"); err != nil {
			return
		}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	defer func() { close(stop); <-ended }()
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(bound + 10*time.Second))
	got, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the command still held a trickling connection after %v", time.Since(start))
	}
	if !strings.HasPrefix(string(got), "HTTP/1.1 408") {
		t.Fatalf("answer to a trickled body: %q", got)
	}
	t.Logf("closed after %v", time.Since(start))
	if status, _ := httpDo(t, "GET", p.url+"/api/health", ""); status != 200 {
		t.Fatalf("health after the slow client: %d", status)
	}
}
