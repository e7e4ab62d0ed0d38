package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	script := fmt.Sprintf("#!/bin/sh\necho $$ > %s\nexec sleep 600\n", pidFile)
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
