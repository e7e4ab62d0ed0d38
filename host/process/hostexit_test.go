package process

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// minihost runs testdata/minihost with plugin (and config, if not empty) in
// a process group of its own, as a shell runs a foreground job, and returns
// it, its stdout and the plugin's pid. The plugin is SIGKILLed at cleanup if
// a failed test left it behind.
func minihost(t *testing.T, plugin, config string, opts ...func(*exec.Cmd)) (*exec.Cmd, *bufio.Reader, int) {
	t.Helper()
	args := []string{bin(t, plugin)}
	if config != "" {
		args = append(args, config)
	}
	cmd := exec.Command(bin(t, "minihost"), args...)
	// A host killed with SIGKILL cannot remove its socket directory: keep it
	// in the test's own temporary directory.
	// (not t.TempDir(): its path is too long for socket paths).
	tmp, err := os.MkdirTemp("", "minihost-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o777); err != nil { // for a host under another uid
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	for _, o := range opts {
		o(cmd)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = tWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil || gone(pid) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("minihost printed %q (%v), not a live pid", line, err)
	}
	t.Cleanup(func() {
		if !gone(pid) { // do not leave an orphan behind a failed test
			t.Errorf("plugin process %d outlived its host", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return cmd, out, pid
}

// TestHostKilled kills a host with SIGKILL (no cleanup runs) and checks its
// plugin exits too: the SDK's plugin (parent-death signal and parent watch)
// and a plugin without the SDK, which only the parent-death signal stops.
func TestHostKilled(t *testing.T) {
	for _, plugin := range []string{"testplugin", "nowatch"} {
		t.Run(plugin, func(t *testing.T) {
			cmd, _, pid := minihost(t, plugin, "")
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			waitFor(t, "the plugin to exit with its host", func() bool { return gone(pid) })
		})
	}
}

// TestHostGroupSignalled signals the host's whole process group, as Ctrl-C
// in a terminal (SIGINT) and `timeout` or a service manager (SIGTERM) do.
// The plugin lives in a group of its own, so the signal reaches only the
// host, which still delivers the closing event, then stops the plugin
// without trying to restart it.
func TestHostGroupSignalled(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "record.jsonl")
			config, _ := json.Marshal(map[string]any{"record": rec})
			cmd, out, pid := minihost(t, "testplugin", string(config))
			hostGroup := cmd.Process.Pid
			if pg, err := syscall.Getpgid(pid); err != nil || pg == hostGroup || pg != pid {
				t.Errorf("plugin %d is in process group %d (%v), want its own (host's is %d)", pid, pg, err, hostGroup)
			}
			if err := syscall.Kill(-hostGroup, sig); err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(out)
			if err := cmd.Wait(); err != nil || strings.TrimSpace(string(rest)) != "closed" {
				t.Fatalf("minihost after %v: %v, printed %q; want a clean exit after \"closed\"", sig, err, rest)
			}
			if r := lastRecord(t, rec, "closing"); r.PID != pid || r.Seq != 1 {
				t.Errorf("closing recorded by pid %d seq %d, want the first plugin process %d, seq 1", r.PID, r.Seq, pid)
			}
			if n := len(readRecords(t, rec)); n != 2 {
				t.Errorf("%d records, want init and closing only (no restart)", n)
			}
			waitFor(t, "the plugin to exit", func() bool { return gone(pid) })
		})
	}
}
