package process

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// bystander starts a healthy plugin that must keep working while another
// plugin misbehaves. It delivers to it and looks a setting up through it in
// a loop until the returned stop is called, so that the checks run
// throughout the fault, not only after it; stop runs one last round and
// fails the test if any round failed or the bystander was restarted.
func bystander(t *testing.T) (stop func()) {
	t.Helper()
	cfg, rec := testPluginConfig(t, "bystander")
	p := startPlugin(t, cfg, newMemSettings("test.limit", "1"))
	pid := p.Status().Detail["pid"]
	var seq uint64
	round := func() error {
		seq++
		if err := command(context.Background(), p, seq, "cmd.lookup", map[string]any{"setting": "test.limit"}); err != nil {
			return fmt.Errorf("bystander delivery %d: %w", seq, err)
		}
		if r, err := lastLine(rec); err != nil || r.What != "lookup" || string(r.Value) != "1" {
			return fmt.Errorf("bystander lookup %d = %+v (%v), want 1", seq, r, err)
		}
		return nil
	}
	quit, done := make(chan struct{}), make(chan error, 1)
	go func() {
		for {
			if err := round(); err != nil {
				done <- err
				return
			}
			select {
			case <-quit:
				done <- round()
				return
			case <-time.After(5 * time.Millisecond): // pacing only
			}
		}
	}()
	var once sync.Once
	stop = func() {
		t.Helper()
		once.Do(func() {
			close(quit)
			if err := <-done; err != nil {
				t.Error(err)
			}
			if st := p.Status(); st.Detail["pid"] != pid || st.Restarts != 0 || st.Errors != 0 {
				t.Errorf("bystander was disturbed: %+v", st)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// lastLine decodes the last record in path.
func lastLine(path string) (record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return record{}, err
	}
	b = bytes.TrimRight(b, "\n")
	var r record
	err = json.Unmarshal(b[bytes.LastIndexByte(b, '\n')+1:], &r)
	return r, err
}

func TestStart_BadInput(t *testing.T) {
	stop := bystander(t)
	dir := t.TempDir()
	notExec := filepath.Join(dir, "not-exec")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := bin(t, "testplugin")
	goodSum := sha256File(t, good)
	badInit, _ := testPluginConfig(t, "bad-init")
	badInit.Config = []byte(`{"fail_init": true}`)
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{name: "missing path", cfg: Config{Name: "missing", Path: filepath.Join(dir, "nope")}, want: fs.ErrNotExist},
		{name: "not executable", cfg: Config{Name: "no-x-bit", Path: notExec}, want: ErrNotExecutable},
		{name: "directory", cfg: Config{Name: "a-dir", Path: dir}, want: ErrNotExecutable},
		{name: "checksum mismatch", cfg: Config{Name: "tampered", Path: good, SHA256: strings.Repeat("ab", 32)}, want: ErrChecksumMismatch},
		{name: "not a plugin", cfg: Config{Name: "garbage", Path: bin(t, "garbage")}, want: ErrNotPlugin},
		{name: "other protocol version", cfg: Config{Name: "v2", Path: bin(t, "wrongversion")}, want: ErrIncompatibleVersion},
		{name: "init fails", cfg: badInit, want: ErrInit},
		{name: "no name", cfg: Config{Path: good}, want: ErrConfig},
		{name: "bad checksum syntax", cfg: Config{Name: "bad-sum", Path: good, SHA256: "xyz"}, want: ErrConfig},
		{name: "config not JSON", cfg: Config{Name: "bad-json", Path: good, Config: []byte("{")}, want: ErrConfig},
		{name: "socket directory too long", cfg: Config{Name: "long-dir", Path: good, SocketDir: longDir(t)}, want: ErrConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Logger = testLogger(t)
			p, err := Start(context.Background(), tc.cfg, newMemSettings())
			if err == nil {
				_ = p.Close(context.Background())
				t.Fatal("Start succeeded")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			// The message itself names the plugin (and, once the
			// config is valid, the binary): an operator sees only it.
			if tc.cfg.Name != "" && !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.cfg.Name)) {
				t.Errorf("err %q does not name plugin %q", err, tc.cfg.Name)
			}
			if tc.want != ErrConfig {
				var se *StartError
				if !errors.As(err, &se) || se.Plugin != tc.cfg.Name || se.Path != tc.cfg.Path {
					t.Errorf("err = %#v, want a StartError naming the plugin and path", err)
				}
				if !strings.Contains(err.Error(), tc.cfg.Path) {
					t.Errorf("err %q does not name the path %s", err, tc.cfg.Path)
				}
			}
		})
	}
	stop()
	t.Run("checksum error detail", func(t *testing.T) {
		_, err := Start(context.Background(), Config{Name: "x", Path: good, SHA256: strings.Repeat("AB", 32)}, newMemSettings())
		var ce *ChecksumError
		if !errors.As(err, &ce) || ce.Got != goodSum || ce.Want != strings.Repeat("ab", 32) || ce.Path != good {
			t.Fatalf("err = %v, want a ChecksumError with the path and both digests", err)
		}
		for _, s := range []string{goodSum, strings.Repeat("ab", 32)} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("err %q lacks digest %s", err, s)
			}
		}
	})
	t.Run("checksum match", func(t *testing.T) {
		cfg, _ := testPluginConfig(t, "checked")
		cfg.SHA256 = strings.ToUpper(goodSum)
		p := startPlugin(t, cfg, newMemSettings())
		if err := ping(context.Background(), p, 1); err != nil {
			t.Fatal(err)
		}
	})
}

// longDir returns an existing directory whose path leaves no room for the
// plugin's socket paths.
func longDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

// pidOf returns the serving process's pid.
func pidOf(t *testing.T, p *Plugin) int {
	t.Helper()
	pid, err := strconv.Atoi(p.Status().Detail["pid"])
	if err != nil || pid == 0 {
		t.Fatalf("no pid in %+v", p.Status())
	}
	return pid
}

// gone reports whether pid has exited (it may linger as a zombie until its
// parent reaps it).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

// declarePID makes the test plugin declare "test.pid" with its pid as the
// default, so that expectRestarted can tell which Init the manifest is from,
// and look a setting up through the host during Init, so that it can tell
// the process's connection to the host worked before any event.
func declarePID(t *testing.T, cfg *Config) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(cfg.Config, &m); err != nil {
		t.Fatal(err)
	}
	m["declare_pid"] = true
	m["init_lookup"] = true
	cfg.Config, _ = json.Marshal(m)
}

// expectRestarted checks that p serves again from a new process that was
// initialised again before it got any event (its config and name, its
// declarations in the host's manifest, its own broker connection for
// lookups), and that the old process is gone.
func expectRestarted(t *testing.T, p *Plugin, rec string, oldPID int, seq uint64) {
	t.Helper()
	if err := ping(context.Background(), p, seq); err != nil {
		t.Fatalf("next delivery: %v", err)
	}
	newPID := pidOf(t, p)
	if newPID == oldPID {
		t.Fatalf("still pid %d", newPID)
	}
	// 1. Config and name: the new process's first record is its Init,
	// with the configured config, made before any event reached it.
	for _, r := range readRecords(t, rec) {
		if r.PID == newPID {
			if r.What != "init" || r.Name != p.Name() || len(r.Config) == 0 {
				t.Errorf("the new process's first record is %+v, want its init (name and config) before any event", r)
			}
			// 3. A fresh connection to the host: Init looked a setting
			// up through it and got the host's answer.
			if r.InitLookup != "ErrNotFound" {
				t.Errorf("lookup during the new process's Init = %q, want the host's not-found answer", r.InitLookup)
			}
			break
		}
	}
	// ... and it is the new process's own: the host counts exactly one
	// connection to the Settings server it serves for that process.
	if st := p.Status(); st.Detail["settings_connections"] != "1" {
		t.Errorf("new process opened %q connections to the host, want 1", st.Detail["settings_connections"])
	}
	// 2. Its declarations: the host's manifest comes from the new Init.
	m := p.Manifest()
	if len(m.Declarations) == 0 || m.Declarations[0].Name != "test.limit" || m.Subscriptions != event.All {
		t.Errorf("manifest after restart = %+v, want the plugin's declarations and subscriptions", m)
	}
	for _, d := range m.Declarations {
		if d.Name == "test.pid" && string(d.Default) != strconv.Itoa(newPID) {
			t.Errorf("manifest declares test.pid = %s, want the new process's Init (%d)", d.Default, newPID)
		}
	}
	if r := lastRecord(t, rec, "closing"); r.PID != newPID || r.Seq != seq {
		t.Errorf("next event recorded by pid %d seq %d, want %d seq %d", r.PID, r.Seq, newPID, seq)
	}
	// The new process has its own broker connection: the host answers it.
	if err := command(context.Background(), p, seq+1, "cmd.lookup", map[string]any{"setting": "test.limit"}); err != nil {
		t.Fatalf("lookup after restart: %v", err)
	}
	if r := lastRecord(t, rec, "lookup"); r.PID != newPID || r.Source != "ErrNotFound" {
		t.Errorf("lookup after restart = %+v, want the host's not-found answer", r)
	}
	if st := p.Status(); st.Detail["settings_connections"] != "1" {
		t.Errorf("after a lookup the new process has %q connections to the host, want still 1", st.Detail["settings_connections"])
	}
	st := p.Status()
	if st.State != pluginapi.StateRunning || st.Restarts < 1 || st.LastError == "" {
		t.Errorf("Status = %+v, want running with a restart and the last error", st)
	}
	waitFor(t, "the old process to be gone", func() bool { return gone(oldPID) })
}

// TestDeliver_CrashMidCall kills the plugin in the middle of a delivery in
// three ways (a panic, os.Exit, SIGKILL). The delivery's deadline
// is a minute and its ctx has none, so the host can only have seen the
// crash from the connection closing, not from a deadline: the error is
// ErrCrashed, never DeadlineExceeded, and no timeout is counted. (How soon
// is a benchmark figure: BenchmarkCrashRestart's detect-ns.)
func TestDeliver_CrashMidCall(t *testing.T) {
	for _, cmd := range []string{"cmd.panic", "cmd.exit", "cmd.kill"} {
		t.Run(cmd, func(t *testing.T) {
			stop := bystander(t)
			cfg, rec := testPluginConfig(t, "crasher")
			declarePID(t, &cfg)
			cfg.Deadline = time.Minute
			cfg.Backoff = Backoff{Initial: 50 * time.Millisecond, Max: time.Second}
			p := startPlugin(t, cfg, newMemSettings())
			old := pidOf(t, p)
			if cmd == "cmd.kill" {
				killWhenAsked(t, rec, old)
			}
			start := time.Now()
			err := command(context.Background(), p, 1, cmd, nil)
			t.Logf("crash reported after %v", time.Since(start))
			if !errors.Is(err, ErrCrashed) || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want ErrCrashed and no deadline", err)
			}
			if st := p.Status(); st.Timeouts != 0 {
				t.Errorf("Status.Timeouts = %d, want 0: the crash was taken for a timeout", st.Timeouts)
			}
			expectRestarted(t, p, rec, old, 2)
			stop()
		})
	}
}

// killWhenAsked SIGKILLs pid once the test plugin, in the middle of a
// cmd.kill delivery, records "kill_me" (a plugin that is the init of its own
// PID namespace cannot kill itself).
func killWhenAsked(t *testing.T, rec string, pid int) {
	t.Helper()
	ctx := t.Context()
	go func() {
		for {
			if r, err := lastLine(rec); err == nil && r.What == "kill_me" && r.PID == pid {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
}

// TestDeliver_Hang hangs the plugin's handler in its own code (a pure loop,
// a bare select), never calling the host. Each delivery ends at its
// deadline; the second strike kills the process, which is restarted. The
// bystander is checked while the plugin is provably inside its hung
// handler.
func TestDeliver_Hang(t *testing.T) {
	for _, cmd := range []string{"cmd.spin", "cmd.block"} {
		t.Run(cmd, func(t *testing.T) {
			stop := bystander(t)
			cfg, rec := testPluginConfig(t, "hanger")
			declarePID(t, &cfg)
			cfg.TimeoutStrikes = 2
			cfg.Deadline = time.Second
			p := startPlugin(t, cfg, newMemSettings())
			old := pidOf(t, p)
			for seq := uint64(1); seq <= 2; seq++ {
				err := command(context.Background(), p, seq, cmd, nil)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("delivery %d: err = %v, want DeadlineExceeded", seq, err)
				}
				if seq == 1 {
					if r, err := lastLine(rec); err != nil || r.What != "hanging" || r.PID != old {
						t.Fatalf("last record %+v (%v), want the handler to have started hanging", r, err)
					}
				}
			}
			if st := p.Status(); st.Timeouts != 2 {
				t.Errorf("Status.Timeouts = %d, want 2", st.Timeouts)
			}
			expectRestarted(t, p, rec, old, 3)
			stop()
		})
	}
}

// TestStart_InitHangs: a plugin whose Init never returns is refused with
// ErrStartTimeout once StartTimeout passes, and its process is killed.
func TestStart_InitHangs(t *testing.T) {
	stop := bystander(t)
	cfg, rec := testPluginConfig(t, "init-hangs")
	var m map[string]any
	mustJSON(t, cfg.Config, &m)
	m["hang_init"] = true
	cfg.Config, _ = json.Marshal(m)
	cfg.StartTimeout = time.Second
	p, err := Start(context.Background(), cfg, newMemSettings())
	if err == nil {
		_ = p.Close(context.Background())
		t.Fatal("Start succeeded")
	}
	var se *StartError
	if !errors.Is(err, ErrStartTimeout) || !errors.As(err, &se) || se.Plugin != cfg.Name {
		t.Fatalf("err = %v, want a StartError for ErrStartTimeout", err)
	}
	r := lastRecord(t, rec, "init_hang")
	if !gone(r.PID) {
		t.Errorf("process %d of the refused plugin is still running", r.PID)
	}
	stop()
}

func TestDeliver_ShortCtxDuringRestart(t *testing.T) {
	cfg, _ := testPluginConfig(t, "slow-restart")
	// A backoff far longer than the test: Close, at cleanup, cuts it short.
	cfg.Backoff = Backoff{Initial: time.Hour, Max: time.Hour}
	p := startPlugin(t, cfg, newMemSettings())
	if err := command(context.Background(), p, 1, "cmd.exit", nil); !errors.Is(err, ErrCrashed) {
		t.Fatalf("err = %v, want ErrCrashed", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := ping(ctx, p, 2)
	if !errors.Is(err, ErrRestarting) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrRestarting and DeadlineExceeded", err)
	}
	if st := p.Status(); st.State != pluginapi.StateRestarting {
		t.Errorf("State = %v, want restarting", st.State)
	}
}

func TestKilledFromOutside(t *testing.T) {
	stop := bystander(t)
	cfg, rec := testPluginConfig(t, "victim")
	declarePID(t, &cfg)
	p := startPlugin(t, cfg, newMemSettings())
	old := pidOf(t, p)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Noticed without any call: the supervisor restarts it on its own.
	waitFor(t, "a restart", func() bool {
		st := p.Status()
		return st.Restarts >= 1 && st.State == pluginapi.StateRunning
	})
	expectRestarted(t, p, rec, old, 1)
	stop()
}

func TestHealthCheck_StoppedProcess(t *testing.T) {
	stop := bystander(t)
	cfg, rec := testPluginConfig(t, "frozen")
	declarePID(t, &cfg)
	cfg.HealthInterval = 50 * time.Millisecond
	cfg.Deadline = time.Second
	p := startPlugin(t, cfg, newMemSettings())
	old := pidOf(t, p)
	// A stopped process accepts connections (the kernel does) but answers
	// nothing: only the health check can tell.
	if err := syscall.Kill(old, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a restart", func() bool {
		st := p.Status()
		return st.Restarts >= 1 && st.State == pluginapi.StateRunning
	})
	if st := p.Status(); !strings.Contains(st.LastError, "health") {
		t.Errorf("LastError = %q, want the health check failure", st.LastError)
	}
	expectRestarted(t, p, rec, old, 1)
	stop()
}

func TestGiveUp(t *testing.T) {
	// A copy of the plugin that is replaced after the first start: every
	// restart then fails, first as "not a plugin", and with a checksum
	// configured as a mismatch.
	for _, withSum := range []bool{false, true} {
		name, want := "no checksum", "not a Heksher plugin"
		if withSum {
			name, want = "checksum", "refusing to run it"
		}
		t.Run(name, func(t *testing.T) {
			stop := bystander(t)
			path := filepath.Join(t.TempDir(), "plugin")
			copyFile(t, bin(t, "testplugin"), path)
			cfg, _ := testPluginConfig(t, "doomed")
			cfg.Path = path
			cfg.MaxRestarts = 2
			if withSum {
				cfg.SHA256 = sha256File(t, path)
			}
			p := startPlugin(t, cfg, newMemSettings())
			copyFile(t, bin(t, "garbage"), path)
			if err := command(context.Background(), p, 1, "cmd.exit", nil); !errors.Is(err, ErrCrashed) {
				t.Fatalf("err = %v, want ErrCrashed", err)
			}
			err := ping(context.Background(), p, 2) // waits for the restarts
			if !errors.Is(err, ErrFailed) {
				t.Fatalf("err = %v, want ErrFailed", err)
			}
			st := p.Status()
			if st.State != pluginapi.StateFailed || st.Restarts != 2 || !strings.Contains(st.LastError, want) {
				t.Errorf("Status = %+v, want failed after 2 restarts with %q", st, want)
			}
			stop()
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	// Write a new file rather than over the old one: a running binary
	// cannot be opened for writing (ETXTBSY).
	tmp := to + ".new"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, to); err != nil {
		t.Fatal(err)
	}
}

// TestParentWatch covers the SDK's fallback for systems without a
// parent-death signal: a plugin whose parent (here a shell that does not
// set Pdeathsig) dies exits on its own.
func TestParentWatch(t *testing.T) {
	out := filepath.Join(t.TempDir(), "stdout")
	cmd := exec.Command("/bin/sh", "-c", `HEKSHER_PLUGIN_HOST_PID=$$ "$PLUGIN" >"$OUT" 2>&1 & echo $!; exec sleep 60`)
	cmd.Env = []string{"PLUGIN=" + bin(t, "testplugin"), "OUT=" + out, pluginv1.MagicCookieKey + "=" + pluginv1.MagicCookieValue}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("shell printed %q (%v)", line, err)
	}
	t.Cleanup(func() {
		if !gone(pid) { // the watch failed: do not leave the plugin behind
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	// The handshake line shows the plugin is serving (and watching).
	waitFor(t, "the plugin's handshake line", func() bool {
		b, _ := os.ReadFile(out)
		return strings.Contains(string(b), "|grpc|")
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitFor(t, "the orphaned plugin to exit", func() bool { return gone(pid) })
}
