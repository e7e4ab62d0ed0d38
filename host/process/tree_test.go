package process

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heksher-go/heksher/pluginapi"
)

// treeBound is the promise: a plugin's whole tree is gone within 5 s of its
// plugin being stopped, restarted or lost, and of its host being killed.
const treeBound = 5 * time.Second

// newMark returns a value for HEKSHER_TREE_MARK unique to this test.
func newMark(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return t.Name() + "-" + hex.EncodeToString(b)
}

// marked returns the live processes whose environment carries mark, and
// registers a cleanup that SIGKILLs any of them a failed test left behind.
func marked(t *testing.T, mark string) []int {
	t.Helper()
	want := []byte("HEKSHER_TREE_MARK=" + mark)
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || gone(pid) {
			continue
		}
		if slices.ContainsFunc(bytes.Split(env, []byte{0}), func(kv []byte) bool { return bytes.Equal(kv, want) }) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitTree waits until at least n processes carry mark and returns them.
func waitTree(t *testing.T, mark string, n int) []int {
	t.Helper()
	var pids []int
	waitFor(t, "the plugin's process tree", func() bool {
		pids = marked(t, mark)
		return len(pids) >= n
	})
	return pids
}

// waitTreeSleeping is waitTree until at least n marked processes all run
// sleep (each has made its last exec, so its session is final).
func waitTreeSleeping(t *testing.T, mark string, n int) []int {
	t.Helper()
	var pids []int
	waitFor(t, "the plugin's process tree, each running sleep", func() bool {
		pids = marked(t, mark)
		if len(pids) < n {
			return false
		}
		for _, pid := range pids {
			comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
			if err != nil || strings.TrimSpace(string(comm)) != "sleep" {
				return false
			}
		}
		return true
	})
	return pids
}

// expectTreeGone fails the test unless every pid has ended within treeBound
// of since, and kills any survivor.
func expectTreeGone(t *testing.T, what string, pids []int, since time.Time) {
	t.Helper()
	deadline := since.Add(treeBound)
	for {
		var alive []int
		for _, pid := range pids {
			if !gone(pid) {
				alive = append(alive, pid)
			}
		}
		if len(alive) == 0 {
			t.Logf("%s: %d processes gone after %v", what, len(pids), time.Since(since).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			for _, pid := range alive {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Fatalf("%s: processes %v of the plugin's tree %v still alive %v later", what, alive, pids, treeBound)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// killMarkedAtCleanup SIGKILLs whatever carries mark when the test ends.
func killMarkedAtCleanup(t *testing.T, mark string) {
	t.Cleanup(func() {
		for _, pid := range marked(t, mark) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// forkerConfig returns a Config for the forker plugin, whose tree carries
// mark, isolated by mode.
func forkerConfig(t *testing.T, mark string, mode isolation) Config {
	t.Helper()
	cfgJSON, _ := json.Marshal(map[string]string{"mark": mark})
	killMarkedAtCleanup(t, mark)
	return Config{
		Name: "forker", Path: bin(t, "forker"), Config: cfgJSON, Logger: testLogger(t),
		Backoff: Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond}, isolation: mode,
	}
}

// namespaceModes are the isolations that promise to end the whole tree.
var namespaceModes = []isolation{isolatePIDNS, isolateUserPIDNS}

// TestTree_Ends starts the forker plugin (no SDK, SIGTERM ignored by it and
// by its descendants, one of them in a session of its own) and checks that
// every process of its tree is gone within 5 s after Close, after Restart,
// after it exits on its own (and is restarted), and after it crashes.
func TestTree_Ends(t *testing.T) {
	for _, mode := range namespaceModes {
		t.Run(mode.String(), func(t *testing.T) {
			t.Run("close", func(t *testing.T) {
				mark := newMark(t)
				p, err := Start(context.Background(), forkerConfig(t, mark, mode), newMemSettings())
				if err != nil {
					t.Fatal(err)
				}
				expectOwnNamespace(t, pidOf(t, p))
				pids := append(waitTree(t, mark, 3), pidOf(t, p))
				start := time.Now()
				if err := p.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
				expectTreeGone(t, "after Close", pids, start)
			})
			t.Run("restart", func(t *testing.T) {
				mark := newMark(t)
				p := startPlugin(t, forkerConfig(t, mark, mode), newMemSettings())
				pids := append(waitTree(t, mark, 3), pidOf(t, p))
				start := time.Now()
				if err := p.Restart(context.Background()); err != nil {
					t.Fatal(err)
				}
				expectTreeGone(t, "after Restart", pids, start)
			})
			for _, cmd := range []string{"cmd.exit", "cmd.crash"} {
				t.Run(cmd, func(t *testing.T) {
					mark := newMark(t)
					p := startPlugin(t, forkerConfig(t, mark, mode), newMemSettings())
					old := pidOf(t, p)
					pids := append(waitTree(t, mark, 3), old)
					start := time.Now()
					if err := command(context.Background(), p, 1, cmd, nil); !errors.Is(err, ErrCrashed) {
						t.Fatalf("err = %v, want ErrCrashed", err)
					}
					expectTreeGone(t, "after the plugin's "+cmd, pids, start)
					waitFor(t, "the restart", func() bool {
						st := p.Status()
						return st.State == pluginapi.StateRunning && st.Detail["pid"] != strconv.Itoa(old)
					})
					// The restarted process has a tree of its own.
					now := waitTree(t, mark, 3)
					for _, pid := range now {
						if slices.Contains(pids, pid) {
							t.Errorf("pid %d of the old tree is still alive", pid)
						}
					}
				})
			}
		})
	}
}

// TestTree_ProcessGroupOnly covers the fallback where namespaces are not
// permitted: Close, and the plugin's exit, end the plugin and the
// descendants in its process group within 5 s; only a descendant that
// started a session of its own escapes (and is killed by the test).
func TestTree_ProcessGroupOnly(t *testing.T) {
	for _, how := range []string{"close", "cmd.exit"} {
		t.Run(how, func(t *testing.T) {
			mark := newMark(t)
			p := startPlugin(t, forkerConfig(t, mark, isolateGroup), newMemSettings())
			if st := p.Status(); st.Detail["isolation"] != "process-group" {
				t.Errorf("isolation %q, want process-group", st.Detail["isolation"])
			}
			var inGroup []int
			// Which session a process is in is settled only once it runs
			// sleep: `setsid` leaves the group just before its exec.
			for _, pid := range waitTreeSleeping(t, mark, 3) {
				if sessionOf(pid) != pid {
					inGroup = append(inGroup, pid)
				}
			}
			inGroup = append(inGroup, pidOf(t, p))
			start := time.Now()
			if how == "close" {
				if err := p.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
			} else if err := command(context.Background(), p, 1, how, nil); !errors.Is(err, ErrCrashed) {
				t.Fatalf("err = %v, want ErrCrashed", err)
			}
			expectTreeGone(t, "the plugin's group after "+how, inGroup, start)
		})
	}
}

// sessionOf returns pid's session id, or 0.
func sessionOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 4 {
		return 0
	}
	sid, _ := strconv.Atoi(f[3])
	return sid
}

// expectOwnNamespace checks that pid is the init of a PID namespace of its
// own (its NSpid line has two entries, the last 1).
func expectOwnNamespace(t *testing.T, pid int) {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "NSpid:" {
			if len(f) != 3 || f[2] != "1" {
				t.Errorf("plugin %d: %q, want the init of a PID namespace of its own", pid, line)
			}
			return
		}
	}
	t.Errorf("plugin %d: no NSpid in its status", pid)
}

// TestTree_HostKilled SIGKILLs a host (testdata/minihost, no cleanup can
// run) whose plugin ignores SIGTERM and has a tree with a setsid
// descendant: the whole tree is gone within 5 s.
func TestTree_HostKilled(t *testing.T) {
	mark := newMark(t)
	killMarkedAtCleanup(t, mark)
	cfgJSON, _ := json.Marshal(map[string]string{"mark": mark})
	cmd, _, pid := minihost(t, "forker", string(cfgJSON))
	expectOwnNamespace(t, pid)
	pids := append(waitTree(t, mark, 3), pid)
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	expectTreeGone(t, "after the host's SIGKILL", pids, start)
}

// TestTree_HostKilled_NotRoot is TestTree_HostKilled for a host that does
// not run as root: the plugin is the init of a PID namespace inside a user
// namespace that maps only the host's uid.
func TestTree_HostKilled_NotRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the host under another uid")
	}
	const nobody = 65534
	mark := newMark(t)
	killMarkedAtCleanup(t, mark)
	cfgJSON, _ := json.Marshal(map[string]string{"mark": mark})
	cmd, _, pid := minihost(t, "forker", string(cfgJSON), func(c *exec.Cmd) {
		c.SysProcAttr.Credential = &syscall.Credential{Uid: nobody, Gid: nobody, NoSetGroups: true}
	})
	expectOwnNamespace(t, pid)
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/uid_map"); err != nil || len(strings.Fields(string(b))) != 3 ||
		strings.Fields(string(b))[0] != strconv.Itoa(nobody) {
		t.Errorf("plugin %d uid_map %q (%v), want only the host's uid %d mapped", pid, b, err, nobody)
	}
	pids := append(waitTree(t, mark, 3), pid)
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	expectTreeGone(t, "after the host's SIGKILL", pids, start)
}

// TestStart_NeverReady starts scripts that never complete the handshake and
// leave a background child holding the plugin's output (and variants): Start
// returns ErrStartTimeout within StartTimeout plus the promised margin, and
// the script's whole tree is gone.
func TestStart_NeverReady(t *testing.T) {
	const startTimeout = 2 * time.Second
	scripts := []struct {
		name, body string
	}{
		{name: "child holds output", body: "/bin/sleep 605 &\nexec /bin/sleep 606"},
		{name: "child holds stderr", body: "/bin/sleep 605 >/dev/null &\nexec /bin/sleep 606"},
		{name: "child holds stdout", body: "/bin/sleep 605 2>/dev/null &\nexec /bin/sleep 606"},
		{name: "setsid child", body: "setsid /bin/sleep 605 &\nexec /bin/sleep 606"},
		{name: "ignores SIGTERM", body: "trap '' TERM\n/bin/sleep 605 &\nsetsid /bin/sleep 607 &\nexec /bin/sleep 606"},
		{name: "shell waits", body: "/bin/sleep 605 &\nsetsid /bin/sleep 607 &\nwait"},
	}
	for _, sc := range scripts {
		t.Run(sc.name, func(t *testing.T) {
			mark := newMark(t)
			killMarkedAtCleanup(t, mark)
			path := filepath.Join(t.TempDir(), "never-ready")
			body := "#!/bin/sh\nexport HEKSHER_TREE_MARK=" + mark + "\n" + sc.body + "\n"
			if err := os.WriteFile(path, []byte(body), 0o700); err != nil {
				t.Fatal(err)
			}
			cfg := Config{Name: "never-ready", Path: path, StartTimeout: startTimeout, Logger: testLogger(t)}
			pids, elapsed, err := startWatchingTree(t, cfg, mark, 2)
			if !errors.Is(err, ErrStartTimeout) {
				t.Errorf("err = %v, want ErrStartTimeout", err)
			}
			t.Logf("Start returned after %v: %v", elapsed.Round(time.Millisecond), err)
			if len(pids) < 2 {
				t.Fatalf("saw %v of the script's tree, want its two processes", pids)
			}
			expectTreeGone(t, "after the refused start", pids, time.Now())
		})
	}
	// Without a namespace (where the system permits none) a setsid child
	// escapes the kill, but Start still returns in time.
	t.Run("process group only", func(t *testing.T) {
		mark := newMark(t)
		killMarkedAtCleanup(t, mark)
		path := filepath.Join(t.TempDir(), "never-ready")
		body := "#!/bin/sh\nexport HEKSHER_TREE_MARK=" + mark + "\nsetsid /bin/sleep 605 &\nexec /bin/sleep 606\n"
		if err := os.WriteFile(path, []byte(body), 0o700); err != nil {
			t.Fatal(err)
		}
		cfg := Config{Name: "never-ready", Path: path, StartTimeout: startTimeout, Logger: testLogger(t), isolation: isolateGroup}
		if _, _, err := startWatchingTree(t, cfg, mark, 2); !errors.Is(err, ErrStartTimeout) {
			t.Errorf("err = %v, want ErrStartTimeout", err)
		}
	})
}

// startWatchingTree runs Start(cfg), which must fail, and collects the
// processes carrying mark while it runs (at least n of them). It fails the
// test unless Start returns within cfg.StartTimeout plus 5 s.
func startWatchingTree(t *testing.T, cfg Config, mark string, n int) ([]int, time.Duration, error) {
	t.Helper()
	errc := make(chan error, 1)
	begin := time.Now()
	go func() {
		p, err := Start(context.Background(), cfg, newMemSettings())
		if err == nil {
			_ = p.Close(context.Background())
			err = errors.New("Start succeeded")
		}
		errc <- err
	}()
	var pids []int
	bound := time.NewTimer(cfg.StartTimeout + 5*time.Second)
	defer bound.Stop()
	for {
		select {
		case err := <-errc:
			return pids, time.Since(begin), err
		case <-bound.C:
			t.Fatalf("Start did not return within StartTimeout %v + 5s", cfg.StartTimeout)
		case <-time.After(10 * time.Millisecond):
			if len(pids) < n {
				pids = marked(t, mark)
			}
		}
	}
}
