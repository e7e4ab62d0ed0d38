package process

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heksher-go/heksher/pluginapi"
)

var _ pluginapi.Restarter = (*Plugin)(nil)

// countInits counts the processes that were initialised (their "init"
// records).
func countInits(t *testing.T, rec string) int {
	t.Helper()
	var n int
	for _, r := range readRecords(t, rec) {
		if r.What == "init" {
			n++
		}
	}
	return n
}

// deliverer delivers events to p in a loop, as the host does, until the
// returned stop is called; it returns how many succeeded.
func deliverer(p *Plugin) (stop func() int64) {
	var ok atomic.Int64
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for seq := uint64(1); ; seq++ {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			if ping(ctx, p, seq) == nil {
				ok.Add(1)
			}
			cancel()
			select {
			case <-quit:
				return
			case <-time.After(5 * time.Millisecond): // pacing only
			}
		}
	}()
	var once sync.Once
	return func() int64 {
		once.Do(func() { close(quit); wg.Wait() })
		return ok.Load()
	}
}

// TestCrashLoop_Failed: a plugin that crashes right after every start, while
// events keep being delivered to it (some of which it handles before it
// dies), is failed after MaxRestarts restarts in a row, and is then left
// alone: no process is started while deliveries go on. Restart brings it
// back with its failures forgotten.
func TestCrashLoop_Failed(t *testing.T) {
	cfg, rec := testPluginConfig(t, "crash-loop")
	mark := filepath.Join(t.TempDir(), "crash")
	if err := os.WriteFile(mark, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	mustJSON(t, cfg.Config, &m)
	m["crash_if"] = mark
	cfg.Config, _ = json.Marshal(m)
	cfg.MaxRestarts = 3
	cfg.Backoff = Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	p := startPlugin(t, cfg, newMemSettings())
	stop := deliverer(p)
	defer stop()

	waitFor(t, "the plugin to be failed", func() bool { return p.Status().State == pluginapi.StateFailed })
	st := p.Status()
	if st.Restarts != cfg.MaxRestarts || st.Detail["consecutive_failures"] != strconv.Itoa(cfg.MaxRestarts+1) {
		t.Errorf("failed with %d restarts, %s in a row; want %d restarts", st.Restarts, st.Detail["consecutive_failures"], cfg.MaxRestarts)
	}
	inits := countInits(t, rec)
	if inits != cfg.MaxRestarts+1 {
		t.Errorf("%d processes initialised, want the first and %d restarts", inits, cfg.MaxRestarts)
	}
	// Left alone: for ten times the longest backoff, with deliveries going
	// on, no process is started and the plugin stays failed.
	quiet := time.Now().Add(10 * cfg.Backoff.Max)
	for time.Now().Before(quiet) {
		if n := countInits(t, rec); n != inits || p.Status().State != pluginapi.StateFailed {
			t.Fatalf("after failing: %d processes initialised (was %d), state %v", n, inits, p.Status().State)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := ping(context.Background(), p, 1000); !errors.Is(err, ErrFailed) {
		t.Errorf("delivery to the failed plugin: %v, want ErrFailed", err)
	}
	stop()

	// Restart, the plugin now fixed, brings it back.
	if err := os.Remove(mark); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	st = p.Status()
	if st.State != pluginapi.StateRunning || st.Detail["consecutive_failures"] != "0" {
		t.Errorf("after Restart: %+v, want running with no failures in a row", st)
	}
	if err := ping(context.Background(), p, 1001); err != nil {
		t.Errorf("delivery after Restart: %v", err)
	}
	if n := countInits(t, rec); n != inits+1 {
		t.Errorf("%d processes initialised, want one more than %d", n, inits)
	}
}

// TestRestart covers Restart on a running plugin (a new process, the old
// tree gone), a Restart whose start fails (the error, then the restart
// policy), and Restart after Close.
func TestRestart(t *testing.T) {
	t.Run("running", func(t *testing.T) {
		cfg, rec := testPluginConfig(t, "restarted")
		declarePID(t, &cfg)
		p := startPlugin(t, cfg, newMemSettings())
		old := pidOf(t, p)
		if err := p.Restart(context.Background()); err != nil {
			t.Fatal(err)
		}
		expectRestartedOnRequest(t, p, rec, old)
	})
	t.Run("start fails", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "plugin")
		copyFile(t, bin(t, "testplugin"), path)
		cfg, _ := testPluginConfig(t, "broken-later")
		cfg.Path = path
		cfg.MaxRestarts = 2
		p := startPlugin(t, cfg, newMemSettings())
		copyFile(t, bin(t, "garbage"), path)
		err := p.Restart(context.Background())
		var se *StartError
		if !errors.Is(err, ErrNotPlugin) || !errors.As(err, &se) {
			t.Fatalf("Restart = %v, want the StartError of a binary that is not a plugin", err)
		}
		waitFor(t, "the restart policy to give up", func() bool { return p.Status().State == pluginapi.StateFailed })
	})
	t.Run("closed", func(t *testing.T) {
		cfg, _ := testPluginConfig(t, "closed")
		p, err := Start(context.Background(), cfg, newMemSettings())
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := p.Restart(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("Restart after Close = %v, want ErrClosed", err)
		}
	})
}

// expectRestartedOnRequest checks that p serves from a new process and the
// old one is gone.
func expectRestartedOnRequest(t *testing.T, p *Plugin, rec string, old int) {
	t.Helper()
	if st := p.Status(); st.State != pluginapi.StateRunning || st.Detail["pid"] == strconv.Itoa(old) {
		t.Fatalf("after Restart: %+v, want running in a new process", st)
	}
	if err := ping(context.Background(), p, 1); err != nil {
		t.Fatal(err)
	}
	if r := lastRecord(t, rec, "closing"); r.PID != pidOf(t, p) {
		t.Errorf("delivered to pid %d, want the new process %d", r.PID, pidOf(t, p))
	}
	waitFor(t, "the old process to be gone", func() bool { return gone(old) })
}
