package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
)

// ofrepNodeDir holds the pinned npm packages of the Node OFREP client.
var ofrepNodeDir = filepath.Join(repo, "cmd/heksher-host/testdata/ofrep-node")

// requireNode returns the path of node 20 or newer, failing the test with
// one line that says what to install otherwise.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: the OFREP test needs node 20 or newer and npm (Debian's nodejs 18 is too old)")
	}
	out, err := exec.Command(node, "--version").Output()
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	major, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if err != nil || major < 20 {
		t.Fatalf("node %s at %s is too old: the OFREP test needs node 20 or newer", v, node)
	}
	return node
}

// npmCI installs the pinned packages (npm ci) unless the installed ones
// are those of the lock file.
func npmCI(t *testing.T) {
	t.Helper()
	lock, err := os.ReadFile(filepath.Join(ofrepNodeDir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	stamp := filepath.Join(ofrepNodeDir, "node_modules", ".heksher-lock")
	if got, err := os.ReadFile(stamp); err == nil && string(got) == string(lock) {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("npm is not installed: the OFREP test installs its pinned packages with npm ci")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = ofrepNodeDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", ofrepNodeDir, err, out)
	}
	if err := os.WriteFile(stamp, lock, 0o644); err != nil {
		t.Fatal(err)
	}
}

// nodeClient is the running driver (testdata/ofrep-node/evaluate.mjs).
type nodeClient struct {
	t     *testing.T
	in    io.WriteCloser
	lines chan string
}

type nodeDetails struct {
	Value        any            `json:"value"`
	Reason       string         `json:"reason"`
	Variant      *string        `json:"variant"`
	ErrorCode    *string        `json:"errorCode"`
	ErrorMessage *string        `json:"errorMessage"`
	FlagMetadata map[string]any `json:"flagMetadata"`
}

func startNodeClient(t *testing.T, node, hostURL, token string) *nodeClient {
	t.Helper()
	cmd := exec.Command(node, "evaluate.mjs")
	cmd.Dir = ofrepNodeDir
	cmd.Env = append(os.Environ(), "HEKSHER_HOST="+hostURL, "HEKSHER_TOKEN="+token)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &nodeClient{t: t, in: in, lines: make(chan string, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(c.lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = in.Close()
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		for range c.lines {
		}
		<-done
		if t.Failed() {
			t.Logf("node stderr:\n%s", stderr.String())
		}
	})
	if line := c.next(60 * time.Second); !strings.Contains(line, `"ready":true`) {
		t.Fatalf("the node client did not start: %q\n%s", line, stderr.String())
	}
	return c
}

func (c *nodeClient) next(limit time.Duration) string {
	c.t.Helper()
	select {
	case l, ok := <-c.lines:
		if !ok {
			c.t.Fatal("the node client exited")
		}
		return l
	case <-time.After(limit):
		c.t.Fatalf("no answer from the node client within %v", limit)
	}
	return ""
}

func (c *nodeClient) eval(typ, key string, def any, ctx map[string]any) nodeDetails {
	c.t.Helper()
	cmd, _ := json.Marshal(map[string]any{"type": typ, "key": key, "default": def, "context": ctx})
	if _, err := c.in.Write(append(cmd, '\n')); err != nil {
		c.t.Fatal(err)
	}
	var d nodeDetails
	line := c.next(20 * time.Second)
	if err := json.Unmarshal([]byte(line), &d); err != nil {
		c.t.Fatalf("node answered %q: %v", line, err)
	}
	return d
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// OpenFeature's Node server SDK with its OFREP provider, from npm, against
// the built host: every type, an unknown flag, a bad context, and a rule
// change picked up.
func TestOFREPWithTheNodeServerSDK(t *testing.T) {
	node := requireNode(t)
	npmCI(t)
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"))
	cfg := fmt.Sprintf(`
service:
  url: %s
update_interval: 200ms
startup_timeout: 5s
context_features: [user, theme]
tracked_contexts: {user: ["*"], theme: ["*"]}
settings:
  - {name: of_size, type: int, configurable_features: [user, theme], default: 50}
  - {name: of_ratio, type: float, configurable_features: [user], default: 0.5}
  - {name: of_on, type: bool, configurable_features: [user], default: false}
  - {name: of_banner, type: str, configurable_features: [user], default: hi}
  - {name: of_color, type: 'Enum["blue","red"]', configurable_features: [user], default: red}
  - {name: of_limits, type: 'Mapping<int>', configurable_features: [user], default: {a: 1}}
admin:
  listen: "{{admin}}"
  ofrep_targeting_feature: user
state_dir: state
`, srv.URL)
	h := startHostReady(t, t.TempDir(), cfg)
	rules := map[string]any{"of_ratio": 1.5, "of_on": true, "of_banner": "hello alice", "of_color": "blue", "of_limits": map[string]int{"a": 2}}
	ids := map[string]int64{}
	for name, v := range rules {
		id, err := srv.AddRule(name, map[string]string{"user": "alice"}, v)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = id
	}
	sizeID, err := srv.AddRule("of_size", map[string]string{"user": "alice", "theme": "dark"}, 7)
	if err != nil {
		t.Fatal(err)
	}
	c := startNodeClient(t, node, h.admin, "") // the token is tested in host/admin
	alice := map[string]any{"targetingKey": "alice", "theme": "dark"}
	// The host picks the rules up within a few update intervals.
	deadline := time.Now().Add(5 * time.Second)
	for c.eval("number", "of_size", 0, alice).Value != 7.0 {
		if time.Now().After(deadline) {
			t.Fatal("the host did not serve the rule within 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	d := c.eval("number", "of_size", 0, alice)
	if d.Reason != "TARGETING_MATCH" || str(d.Variant) != fmt.Sprint(sizeID) || d.FlagMetadata["condition.user"] != "alice" || d.ErrorCode != nil {
		t.Errorf("int: %+v", d)
	}
	if d := c.eval("number", "of_ratio", 0, alice); d.Value != 1.5 || str(d.Variant) != fmt.Sprint(ids["of_ratio"]) {
		t.Errorf("float: %+v", d)
	}
	if d := c.eval("boolean", "of_on", false, alice); d.Value != true {
		t.Errorf("bool: %+v", d)
	}
	if d := c.eval("string", "of_banner", "", alice); d.Value != "hello alice" {
		t.Errorf("string: %+v", d)
	}
	if d := c.eval("string", "of_color", "", alice); d.Value != "blue" {
		t.Errorf("enum: %+v", d)
	}
	if d := c.eval("object", "of_limits", map[string]any{}, alice); fmt.Sprint(d.Value) != "map[a:2]" {
		t.Errorf("object: %+v", d)
	}
	bob := map[string]any{"user": "bob", "theme": "dark"} // the feature itself, as an attribute
	if d := c.eval("number", "of_size", 0, bob); d.Value != 50.0 || d.Reason != "DEFAULT" {
		t.Errorf("server default: %+v", d)
	}
	// A type the flag is not: the SDK's own check.
	if d := c.eval("boolean", "of_size", true, alice); str(d.ErrorCode) != "TYPE_MISMATCH" || d.Value != true {
		t.Errorf("wrong type: %+v", d)
	}
	// An unknown flag: the default, FLAG_NOT_FOUND.
	if d := c.eval("number", "no_such_flag", 3, alice); str(d.ErrorCode) != "FLAG_NOT_FOUND" || d.Value != 3.0 {
		t.Errorf("unknown flag: %+v", d)
	}
	// A bad context: an object where a feature value goes; and a missing feature.
	if d := c.eval("number", "of_size", 3, map[string]any{"targetingKey": "alice", "theme": map[string]any{"x": 1}}); str(d.ErrorCode) != "INVALID_CONTEXT" || d.Value != 3.0 || !strings.Contains(str(d.ErrorMessage), "theme") {
		t.Errorf("bad context: %+v", d)
	}
	if d := c.eval("number", "of_size", 3, map[string]any{"user": "alice"}); str(d.ErrorCode) != "INVALID_CONTEXT" {
		t.Errorf("missing feature: %+v", d)
	}
	if d := c.eval("number", "of_size", 3, map[string]any{"theme": "dark"}); str(d.ErrorCode) != "TARGETING_KEY_MISSING" {
		t.Errorf("missing targeting key: %+v", d)
	}
	// A rule changes: the client sees the new value within 5 s.
	if err := srv.SetRuleValue(sizeID, 8); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		d := c.eval("number", "of_size", 0, alice)
		if d.Value == 8.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the change did not reach the node client within 5 s: %+v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Bad requests are the caller's business: nothing above DEBUG in the log.
	for _, line := range strings.Split(h.out.String(), "\n") {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			t.Errorf("the host logged a request: %s", line)
		}
	}
}
