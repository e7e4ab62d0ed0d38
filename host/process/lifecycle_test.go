package process

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/pluginapi"
)

func TestClose(t *testing.T) {
	base := t.TempDir()
	cfg, _ := testPluginConfig(t, "closer")
	cfg.SocketDir = base
	p, err := Start(context.Background(), cfg, newMemSettings())
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob(filepath.Join(base, "heksher-plugin-*"))
	if len(dirs) != 1 {
		t.Fatalf("socket directories %v, want one", dirs)
	}
	fi, err := os.Stat(dirs[0])
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory mode %v (%v), want 0700", fi.Mode(), err)
	}
	socks, _ := filepath.Glob(filepath.Join(dirs[0], "*", "*"))
	if len(socks) == 0 {
		t.Errorf("no sockets inside the private directory %s", dirs[0])
	}
	pid := pidOf(t, p)
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if !gone(pid) {
		t.Errorf("process %d still running after Close", pid)
	}
	if _, err := os.Stat(dirs[0]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket directory left behind: %v", err)
	}
	if err := ping(context.Background(), p, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Deliver after Close = %v, want ErrClosed", err)
	}
	if st := p.Status(); st.State != pluginapi.StateStopped {
		t.Errorf("State = %v, want stopped", st.State)
	}
}

func TestLogs(t *testing.T) {
	var buf syncBuffer
	cfg, _ := testPluginConfig(t, "chatty")
	cfg.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	p := startPlugin(t, cfg, newMemSettings())
	pid := pidOf(t, p)
	if err := command(context.Background(), p, 1, "cmd.panic", nil); !errors.Is(err, ErrCrashed) {
		t.Fatalf("err = %v, want ErrCrashed", err)
	}
	waitFor(t, "the restart", func() bool { return p.Status().State == pluginapi.StateRunning })
	type rec struct {
		Level, Msg, Plugin, Logger string
		PID                        float64
	}
	var sawInit, sawPanic bool
	deadline := time.Now().Add(5 * time.Second)
	for !(sawInit && sawPanic) && time.Now().Before(deadline) {
		for _, line := range strings.Split(buf.String(), "\n") {
			var r rec
			if json.Unmarshal([]byte(line), &r) != nil {
				continue
			}
			if r.Plugin != "chatty" {
				t.Fatalf("record without the plugin attribute: %s", line)
			}
			if r.Msg == "test plugin initialised" && r.Level == "INFO" && r.Logger == "chatty" && int(r.PID) == pid {
				sawInit = true
			}
			if strings.Contains(r.Msg, "panic: testplugin: panic requested") && r.Level == "ERROR" {
				sawPanic = true
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !sawInit || !sawPanic {
		t.Errorf("plugin init record %v, panic at ERROR %v; log:\n%s", sawInit, sawPanic, buf.String())
	}
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	tests := []struct {
		name string
		n    int
		want time.Duration
	}{
		{name: "first", n: 1, want: 100 * time.Millisecond},
		{name: "second", n: 2, want: 200 * time.Millisecond},
		{name: "fourth", n: 4, want: 800 * time.Millisecond},
		{name: "capped", n: 5, want: time.Second},
		{name: "far", n: 60, want: time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := b.Ceiling(tc.n); got != tc.want {
				t.Errorf("Ceiling(%d) = %v, want %v", tc.n, got, tc.want)
			}
		})
	}
}

// TestClose_DuringRestart closes a plugin whose restart is waiting out its
// backoff: Close ends the wait, and no new process is started.
func TestClose_DuringRestart(t *testing.T) {
	cfg, rec := testPluginConfig(t, "closing-while-restarting")
	cfg.Backoff = Backoff{Initial: time.Hour, Max: time.Hour}
	p, err := Start(context.Background(), cfg, newMemSettings())
	if err != nil {
		t.Fatal(err)
	}
	if err := command(context.Background(), p, 1, "cmd.exit", nil); !errors.Is(err, ErrCrashed) {
		t.Fatalf("err = %v, want ErrCrashed", err)
	}
	waitFor(t, "the restart to be pending", func() bool { return p.Status().State == pluginapi.StateRestarting })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // well under the backoff
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st := p.Status()
	if st.State != pluginapi.StateStopped || st.Restarts != 0 {
		t.Errorf("Status = %+v, want stopped without a restart", st)
	}
	var inits int
	for _, r := range readRecords(t, rec) {
		if r.What == "init" {
			inits++
		}
	}
	if inits != 1 {
		t.Errorf("%d processes initialised, want 1 (no restart after Close)", inits)
	}
}

// TestClose_HungHandler closes a plugin whose handler spins in pure code:
// go-plugin's graceful shutdown waits for that handler forever, so Close
// must end the process by force and still return without error.
func TestClose_HungHandler(t *testing.T) {
	cfg, rec := testPluginConfig(t, "hung-at-close")
	cfg.Deadline = 200 * time.Millisecond
	cfg.TimeoutStrikes = 10 // no restart: the process stays hung
	p, err := Start(context.Background(), cfg, newMemSettings())
	if err != nil {
		t.Fatal(err)
	}
	pid := pidOf(t, p)
	if err := command(context.Background(), p, 1, "cmd.spin", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if r := lastRecord(t, rec, "hanging"); r.PID != pid {
		t.Fatalf("hanging recorded by %d, want %d", r.PID, pid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !gone(pid) {
		t.Errorf("hung process %d still running after Close", pid)
	}
	if st := p.Status(); st.State != pluginapi.StateStopped || st.Restarts != 0 {
		t.Errorf("Status = %+v, want stopped without a restart", st)
	}
}
