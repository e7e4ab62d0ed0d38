package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/internal/httpguard"
	"github.com/heksher-go/heksher/internal/wire"
)

// Hostile watches: absurd Prefer values, header floods, half-closed
// connections.

// TestWatchAttack_AbsurdWaits: whatever a client writes in Prefer, a watch
// is held at most MaxWait, and a wait longer than MaxWait is MaxWait (not a
// plain query, nor a hold of some other length after an overflow).
func TestWatchAttack_AbsurdWaits(t *testing.T) {
	eng, base := watchEngine(t, WatchOptions{MaxWait: time.Second}, httpguard.Limits{})
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	ctx := context.Background()
	etag := watchGet(ctx, hc, base+watchQueryPath, "", "").header.Get("ETag")
	for _, tc := range []struct {
		name, prefer string
		applied      string // Preference-Applied; "" for a plain query
	}{
		{"max int64", "wait=9223372036854775807", "wait=1"},
		{"overflows to a negative duration", "wait=10000000000", "wait=1"},
		{"overflows to 290 ms", "wait=18446744074", "wait=1"},
		{"an hour", "wait=3600", "wait=1"},
		{"beyond int64", "wait=99999999999999999999999", ""},
		{"negative", "wait=-5", ""},
		{"zero", "wait=0", ""},
		{"not a number", "wait=soon", ""},
		{"float", "wait=1.5", ""},
		{"exponent", "wait=1e3", ""},
		{"empty", "wait=", ""},
		{"hex", "wait=0x10", ""},
		{"a thousand preferences", strings.Repeat("return=minimal, ", 1000) + "wait=1", "wait=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			a := watchGet(ctx, hc, base+watchQueryPath, etag, tc.prefer)
			took := time.Since(start)
			if a.err != nil || a.status != http.StatusNotModified || a.header.Get("Preference-Applied") != tc.applied {
				t.Fatalf("%v %d Preference-Applied=%q, want 304 and %q", a.err, a.status, a.header.Get("Preference-Applied"), tc.applied)
			}
			if tc.applied != "" && took < time.Second {
				t.Fatalf("held %v, less than the 1 s it was capped to", took)
			}
			if took > 20*time.Second {
				t.Fatalf("held %v", took)
			}
		})
	}
	if eng.Watchers() != 0 {
		t.Fatalf("%d watchers left", eng.Watchers())
	}
}

// TestWatchAttack_ManyHeaders: a thousand Prefer lines and an If-None-Match
// just under the header cap are read within the cap and answered; over the
// cap, 431.
func TestWatchAttack_ManyHeaders(t *testing.T) {
	eng, base := watchEngine(t, WatchOptions{MaxWait: time.Second}, httpguard.Limits{})
	addr := strings.TrimPrefix(base, "http://")
	send := func(headers string) int {
		conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		go func() {
			_, _ = io.WriteString(conn, "GET "+watchQueryPath+" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"+headers+"\r\n")
		}()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	etag := watchGet(context.Background(), &http.Client{}, base+watchQueryPath, "", "").header.Get("ETag")
	if s := send(strings.Repeat("Prefer: return=minimal\r\n", 1000) + "Prefer: wait=1\r\nIf-None-Match: " + etag + "\r\n"); s != http.StatusNotModified {
		t.Errorf("a thousand Prefer lines: %d", s)
	}
	if s := send("If-None-Match: \"" + strings.Repeat("a", 60<<10) + "\"\r\nPrefer: wait=1\r\n"); s != http.StatusOK {
		t.Errorf("an ETag of 60 KiB: %d, want 200 (it matches nothing)", s)
	}
	if s := send("If-None-Match: \"" + strings.Repeat("a", 1<<20) + "\"\r\n"); s != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("an ETag of 1 MiB: %d, want 431", s)
	}
	eventually(t, "no watch left", func() bool { return eng.Watchers() == 0 })
}

// TestWatchAttack_HalfClosed: a client that sends its watch and shuts its
// side of the connection (or just disappears) releases the watch: it is
// not held to the end of its wait.
func TestWatchAttack_HalfClosed(t *testing.T) {
	eng, base := watchEngine(t, WatchOptions{MaxWait: time.Hour}, httpguard.Limits{})
	addr := strings.TrimPrefix(base, "http://")
	etag := watchGet(context.Background(), &http.Client{}, base+watchQueryPath, "", "").header.Get("ETag")
	req := "GET " + watchQueryPath + " HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: " + etag + "\r\n" + wire.HeaderPrefer + ": wait=3600\r\n\r\n"
	var conns []*net.TCPConn
	for range 50 {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c.(*net.TCPConn))
	}
	eventually(t, "50 watches held", func() bool { return eng.Watchers() == 50 })
	for i, c := range conns {
		if i%2 == 0 {
			_ = c.CloseWrite()
		} else {
			_ = c.Close()
		}
	}
	eventually(t, "every watch released", func() bool { return eng.Watchers() == 0 })
}
