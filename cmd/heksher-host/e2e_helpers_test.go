package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heksher-go/heksher/host/admin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// repo is the repository root, from this package's directory.
var repo, _ = filepath.Abs("../..")

// built returns the absolute path of a file built by `make host-plugins` /
// `make wasm`, failing the test with the command to run when it is missing.
func built(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(repo, rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: run `make host-plugins wasm` first: %v", rel, err)
	}
	return p
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// lockedBuffer collects a process's output for the test to search.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// hostProc is a running heksher-host binary.
type hostProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	dir    string
	cfg    string
	admin  string // http://addr
	out    *lockedBuffer
	exited chan struct{}
	err    error
}

// startHost writes cfg (YAML, with {{admin}} replaced by a free address) to
// a fresh directory and runs the built host on it, waiting until its
// start-up has ended: it is ready, and every plugin has loaded or failed
// (the host is ready before its plugins have loaded; it prints its status
// page's address once they have).
func startHost(t *testing.T, dir, cfg string) *hostProc {
	t.Helper()
	h := startHostReady(t, dir, cfg)
	h.waitLog("heksher-host: status page ", 60*time.Second)
	return h
}

// startHostReady is startHost without waiting for the plugins: it returns
// once /readyz answers 200.
func startHostReady(t *testing.T, dir, cfg string) *hostProc {
	t.Helper()
	bin := built(t, "cmd/heksher-host/bin/heksher-host")
	adminAddr := freeAddr(t)
	cfg = strings.ReplaceAll(cfg, "{{admin}}", adminAddr)
	path := filepath.Join(dir, "host.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	h := &hostProc{t: t, dir: dir, cfg: path, admin: "http://" + adminAddr, out: &lockedBuffer{}, exited: make(chan struct{})}
	h.cmd = exec.Command(bin, "-config", path)
	h.cmd.Dir = dir
	h.cmd.Stdout, h.cmd.Stderr = h.out, h.out
	// Its own process group, so that the test's signals reach the host only.
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.err = h.cmd.Wait(); close(h.exited) }()
	t.Cleanup(func() {
		if h.running() {
			_ = h.cmd.Process.Kill()
			<-h.exited
		}
		if t.Failed() {
			t.Logf("host output:\n%s", h.out.String())
		}
	})
	h.waitFor("the admin server", 60*time.Second, func() bool {
		resp, err := http.Get(h.admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return h
}

func (h *hostProc) running() bool {
	select {
	case <-h.exited:
		return false
	default:
		return true
	}
}

// waitFor polls cond until it holds, or fails the test after limit.
func (h *hostProc) waitFor(what string, limit time.Duration, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if !h.running() {
			h.t.Fatalf("host exited (%v) while waiting for %s", h.err, what)
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLog waits until the host's output contains s.
func (h *hostProc) waitLog(s string, limit time.Duration) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("log %q", s), limit, func() bool { return strings.Contains(h.out.String(), s) })
}

func (h *hostProc) status() admin.Snapshot {
	h.t.Helper()
	var s admin.Snapshot
	h.getJSON("/api/v1/status", &s)
	return s
}

func (h *hostProc) getJSON(path string, v any) int {
	h.t.Helper()
	resp, err := http.Get(h.admin + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode
}

func (h *hostProc) lookup(path string) admin.LookupResult {
	h.t.Helper()
	var r admin.LookupResult
	if code := h.getJSON("/api/v1/lookup/"+path, &r); code != 200 {
		h.t.Fatalf("lookup %s: %d", path, code)
	}
	return r
}

// stop sends sig and waits for the exit, returning how long it took.
func (h *hostProc) stop(sig syscall.Signal) time.Duration {
	h.t.Helper()
	start := time.Now()
	if err := h.cmd.Process.Signal(sig); err != nil {
		h.t.Fatal(err)
	}
	select {
	case <-h.exited:
	case <-time.After(10 * time.Second):
		h.t.Fatal("host did not exit within 10s")
	}
	took := time.Since(start)
	h.t.Logf("the host exited %v after %v", took, sig)
	return took
}

// pluginPIDs returns the pids of the running process plugins.
func (h *hostProc) pluginPIDs() map[string]int {
	h.t.Helper()
	out := map[string]int{}
	for _, p := range h.status().Plugins {
		var pid int
		if _, err := fmt.Sscan(p.Detail["pid"], &pid); err == nil && pid > 0 {
			out[p.Name] = pid
		}
	}
	return out
}

func alive(pid int) bool {
	// A zombie still answers signal 0; read its state instead.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b))
	return len(fields) > 2 && fields[2] != "Z"
}

func postRule(t *testing.T, serverURL, setting string, conds map[string]string, value any) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"setting": setting, "feature_values": conds, "value": value})
	resp, err := http.Post(serverURL+"/api/v1/rules", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST rule: %d %s", resp.StatusCode, msg)
	}
}
