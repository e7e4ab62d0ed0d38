package process

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Start gives up at once when its context ends during go-plugin's
// handshake, which takes no context of its own, and kills the process: a
// binary that never completes the handshake is not waited for until the
// start timeout.
func TestStart_AbandonedDuringHandshake(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	script := filepath.Join(dir, "silent")
	// A process that starts and never prints go-plugin's handshake line.
	// (The pid as the host sees it: the plugin is the init of a PID
	// namespace of its own, where $$ is 1; /proc is the host's.)
	body := "#!/bin/sh\nread -r pid _ < /proc/self/stat\necho $pid > " + pidFile + ".tmp && mv " + pidFile + ".tmp " + pidFile + "\nexec sleep 3600\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Name: "silent", Path: script, StartTimeout: time.Hour, Logger: testLogger(t)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		p, err := Start(ctx, cfg, newMemSettings())
		if err == nil {
			_ = p.Close(context.Background())
		}
		errc <- err
	}()

	var pid int
	for pid == 0 {
		b, err := os.ReadFile(pidFile)
		if err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		select {
		case err := <-errc:
			t.Fatalf("Start returned before the process was up: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	err := <-errc
	var se *StartError
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrStartTimeout) || !errors.As(err, &se) || se.Plugin != "silent" {
		t.Fatalf("err = %v, want a StartError for context.Canceled", err)
	}
	for !gone(pid) {
		select {
		case <-t.Context().Done():
			t.Fatalf("process %d of the abandoned start is still running", pid)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
