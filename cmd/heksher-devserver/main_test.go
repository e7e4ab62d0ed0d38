package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heksher-go/heksher/internal/server"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(removeBuild{m}) }

// removeBuild deletes the command built for the tests once they ran.
type removeBuild struct{ m *testing.M }

func (r removeBuild) Run() int {
	code := r.m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	return code
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "heksher-devserver-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "heksher-devserver")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type proc struct {
	cmd  *exec.Cmd
	url  string
	done chan error
	logs *strings.Builder
	mu   *sync.Mutex
}

var reListening = regexp.MustCompile(`msg=listening url=(http://\S+)`)

// start runs the command and waits until it listens.
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	return startCmd(t, exec.Command(binary(t), args...))
}

// startCmd runs cmd (the command, or a shell that execs it) and waits
// until it listens.
func startCmd(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1), logs: &strings.Builder{}, mu: &sync.Mutex{}}
	urlCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs.WriteString(line + "\n")
			p.mu.Unlock()
			if m := reListening.FindStringSubmatch(line); m != nil {
				select {
				case urlCh <- m[1]:
				default:
				}
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.url = <-urlCh:
	case err := <-p.done:
		t.Fatalf("command exited before listening: %v\n%s", err, p.output())
	case <-time.After(20 * time.Second):
		t.Fatalf("command did not start:\n%s", p.output())
	}
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

func (p *proc) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("command did not exit")
	}
	return nil
}

func httpDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestCommandServesSeedAndStopsOnSIGTERM(t *testing.T) {
	p := start(t, "-addr", "127.0.0.1:0", "-context-features", "user,trust", "-seed", "testdata/seed.yaml")
	tests := []struct {
		name, path, want string
	}{
		{"features", "/api/v1/context_features", `{"context_features":["user","trust","theme"]}`},
		{"query", "/api/v1/query?settings=size_limit,color",
			`{"settings":{"color":{"default_value":"blue","rules":[{"value":"green","context_features":[["theme","dark"]],"rule_id":3}]},"size_limit":{"default_value":200,"rules":[{"value":10,"context_features":[["theme","bright"]],"rule_id":1},{"value":20,"context_features":[["user","me"],["theme","bright"]],"rule_id":2}]}}}`},
		{"color version", "/api/v1/settings/color",
			`{"name":"color","configurable_features":["theme"],"type":"Enum[\"blue\",\"green\",\"red\"]","default_value":"blue","metadata":{},"aliases":[],"version":"1.2"}`},
		{"limits", "/api/v1/settings/limits/metadata", `{"metadata":{}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := httpDo(t, "GET", p.url+tc.path, ""); status != 200 || body != tc.want {
				t.Fatalf("GET %s = %d %s", tc.path, status, body)
			}
		})
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.output())
	}
	if out := p.output(); !strings.Contains(out, "shutting down") || !strings.Contains(out, "msg=request") {
		t.Fatalf("log lacks the request and shutdown lines:\n%s", out)
	}
}

func TestCommandRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"remote address", []string{"-addr", "0.0.0.0:0"}, "not a loopback address"},
		{"bare port", []string{"-addr", ":0"}, "not a loopback address"},
		{"bad feature", []string{"-addr", "127.0.0.1:0", "-context-features", "a-b"}, "invalid context feature"},
		{"missing seed", []string{"-addr", "127.0.0.1:0", "-seed", "testdata/none.yaml"}, "read seed"},
		{"extra args", []string{"x"}, "unexpected arguments"},
		{"unknown fix", []string{"-fix", "etag,typo"}, "unknown fix"},
		{"remote without token", []string{"-addr", "0.0.0.0:0", "-allow-remote"}, "-allow-remote needs a token"},
		{"bad read timeout", []string{"-read-timeout", "0s"}, "must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), tc.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run(%v) = %v, want %q", tc.args, err, tc.want)
			}
		})
	}
	if err := checkAddr("10.1.2.3:80", true, "t"); err != nil {
		t.Fatalf("-allow-remote with a token did not allow: %v", err)
	}
	if err := checkAddr("10.1.2.3:80", true, ""); err == nil {
		t.Fatal("-allow-remote without a token allowed")
	}
	if err := checkAddr("[::1]:80", false, ""); err != nil {
		t.Fatalf("IPv6 loopback refused: %v", err)
	}
}

// TestDataFileSurvivesKill9 kills the command with SIGKILL while clients
// keep changing state, then checks that the data file still loads and holds
// every change the server had acknowledged.
func TestDataFileSurvivesKill9(t *testing.T) {
	data := filepath.Join(t.TempDir(), "state.json")
	p := start(t, "-addr", "127.0.0.1:0", "-context-features", "user", "-data", data)

	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
			defer client.CloseIdleConnections()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("s_%d_%d", w, i)
				body := fmt.Sprintf(`{"name":%q,"configurable_features":["user"],"type":"int","default_value":%d}`, name, i)
				resp, err := client.Post(p.url+"/api/v1/settings/declare", "application/json", strings.NewReader(body))
				if err != nil {
					return // the server was killed
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					acked = append(acked, name)
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.wait(t)
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no change was acknowledged before the kill")
	}

	eng, err := server.New(server.Options{DataFile: data})
	if err != nil {
		t.Fatalf("data file does not load after SIGKILL: %v", err)
	}
	for _, name := range acked {
		if _, err := eng.Call(context.Background(), "GET", "/api/v1/settings/"+name, nil); err != nil {
			t.Fatalf("acknowledged setting %s lost: %v", name, err)
		}
	}

	// The command itself starts again on the same file.
	p2 := start(t, "-addr", "127.0.0.1:0", "-data", data)
	if status, body := httpDo(t, "GET", p2.url+"/api/v1/settings/"+acked[0], ""); status != 200 {
		t.Fatalf("restarted command lost %s: %d %s", acked[0], status, body)
	}
	_ = p2.cmd.Process.Signal(syscall.SIGTERM)
	if err := p2.wait(t); err != nil {
		t.Fatal(err)
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-addr", "localhost:0", "-fix", "etag,filter-keys", "-context-features", "a, b", "-log-level", "debug"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := server.Fixes{ETagMatching: true, LowercaseFilterKeys: true}
	if c.fixes != want || len(c.features) != 2 || c.features[1] != "b" || c.logLevel != slog.LevelDebug {
		t.Fatalf("parseFlags = %+v", c)
	}
}
