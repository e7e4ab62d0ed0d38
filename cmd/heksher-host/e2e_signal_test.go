package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SIGTERM while a SIGHUP reload is stuck loading a plugin that never
// completes go-plugin's handshake (a script that only sleeps): the host
// abandons the load instead of waiting out the runtime's start timeout,
// the running plugin still gets the closing event, the host exits 0 within
// 5 s, and the half-started process is not left behind.
func TestE2E_SigtermDuringAStuckReload(t *testing.T) {
	embedded := freeAddr(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "stuck.pid")
	stuck := filepath.Join(dir, "stuck")
	// The plugin is the init of a PID namespace of its own, where $$ is 1:
	// the shell reads its pid as the host sees it from /proc (the host's),
	// with a builtin so that /proc/self is the shell itself.
	script := fmt.Sprintf("#!/bin/sh\nread -r pid rest < /proc/self/stat\necho $pid > %s\nexec sleep 600\n", pidFile)
	if err := os.WriteFile(stuck, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf(`
embedded: {listen: %s}
update_interval: 500ms
context_features: [user, theme]
tracked_contexts: {user: ["*"], theme: ["*"]}
admin: {listen: "{{admin}}"}
state_dir: state
plugins:
  - {name: banner, kind: process, path: %s}
`, embedded, built(t, "examples/demo/banner/bin/banner"))
	h := startHost(t, dir, base)
	h.waitLog(`banner for user=alice is \"welcome\"`, 10*time.Second)
	cfg := strings.ReplaceAll(base, "{{admin}}", strings.TrimPrefix(h.admin, "http://")) +
		fmt.Sprintf("  - {name: stuck, kind: process, path: %s}\n", stuck)
	if err := os.WriteFile(h.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	var pid int
	h.waitFor("the stuck plugin's process", 30*time.Second, func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})

	took := h.stop(syscall.SIGTERM)
	if h.err != nil {
		t.Errorf("exit: %v", h.err)
	}
	if took > 5*time.Second {
		t.Errorf("shutdown took %v with a reload stuck", took)
	}
	if !strings.Contains(h.out.String(), `msg="banner closing"`) {
		t.Error("the running plugin did not get the closing event")
	}
	// The kernel signals it as the host exits (the runtime's parent-death
	// signal); give that a moment to land.
	for limit := time.Now().Add(10 * time.Second); alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(limit) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the stuck plugin's process %d outlived the host", pid)
		}
	}
}

// SIGTERM while start-up still waits for a service that accepts
// connections and never answers: the host exits 0 within 5 s all the same.
// Its process plugin loads only after the first update attempt, so it was
// never started.
func TestE2E_SigtermDuringStartUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	var accepting sync.WaitGroup
	accepting.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		accepting.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	dir := t.TempDir()
	adminAddr := freeAddr(t)
	cfg := fmt.Sprintf(`
service: {url: "http://%s", timeout: 60s}
startup_timeout: 60s
context_features: [user, theme]
plugins:
  - {name: banner, kind: process, path: %s}
admin: {listen: %q}
state_dir: state
`, ln.Addr(), built(t, "examples/demo/banner/bin/banner"), adminAddr)
	path := filepath.Join(dir, "host.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &lockedBuffer{}
	cmd := exec.Command(built(t, "cmd/heksher-host/bin/heksher-host"), "-config", path)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("host output:\n%s", out.String())
		}
	})
	// The admin server says "not ready": start-up is waiting for the
	// service.
	for limit := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(limit) {
			t.Fatal("timed out waiting for the host to wait for the service")
		}
		resp, err := http.Get("http://" + adminAddr + "/readyz")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			break
		}
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("host did not exit within 10s")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown during start-up took %v", took)
	}
	if strings.Contains(out.String(), `msg="plugin started"`) {
		t.Errorf("a plugin was started before the first update attempt ended")
	}
}
