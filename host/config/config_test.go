package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadFull(t *testing.T) {
	c, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs("testdata")
	checks := []struct {
		name      string
		got, want any
	}{
		{"url", c.Service.URL, "https://heksher.example:8888"},
		{"header", c.Service.Headers["X-Team"], "payments"},
		{"timeout", c.Service.Timeout.D(), 3 * time.Second},
		{"ca resolved", c.Service.TLS.CAFile, filepath.Join(dir, "certs/ca.pem")},
		{"seed resolved", c.Embedded.Seed, filepath.Join(dir, "seed.yaml")},
		{"interval", c.UpdateInterval.D(), 10 * time.Second},
		{"features", strings.Join(c.ContextFeatures, ","), "user,theme,country"},
		{"tracked", strings.Join(c.TrackedContexts["theme"], ","), "light,dark"},
		{"setting default", c.Settings[0].Default, "welcome"},
		{"plugin path", c.Plugins[0].Path, filepath.Join(dir, "plugins/audit.wasm")},
		{"memory", c.Plugins[0].MemoryLimit, ByteSize(16 << 20)},
		{"output", c.Plugins[0].Output, Output{Rate: 512 << 10, Burst: 64 << 10, MaxLine: 8 << 10}},
		{"deadline", c.Plugins[0].Deadline.D(), 500 * time.Millisecond},
		{"grant host", c.Plugins[0].Grants.Dir.Host, filepath.Join(dir, "audit")},
		{"grant guest", c.Plugins[0].Grants.Dir.Guest, "/audit"},
		{"grant clock", c.Plugins[0].Grants.Clock, true},
		{"plugin config", c.Plugins[1].Config.(map[string]any)["failures"], 3},
		{"undeclared", c.Plugins[1].Grants.UndeclaredReads, true},
		{"state abs kept", c.StateDir, "/var/lib/heksher-host"},
		{"token", c.Admin.Token, "s3cret"},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %#v, want %#v", tc.got, tc.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := Config{Plugins: []Plugin{{Name: "p", Kind: "wasm", Path: "x"}}}.WithDefaults()
	if c.UpdateInterval.D() != DefaultUpdateInterval || c.Admin.Listen != DefaultAdminListen ||
		c.Embedded.Listen != DefaultEmbeddedListen || c.Plugins[0].QueueSize != DefaultPluginQueueSize ||
		c.Plugins[0].MemoryLimit != DefaultWasmMemoryLimit || c.Plugins[0].Deadline.D() != DefaultPluginDeadline ||
		c.Plugins[0].Output != (Output{Rate: DefaultOutputRate, Burst: DefaultOutputBurst, MaxLine: DefaultOutputMaxLine}) {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}

func TestEmptyFileIsZeroConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(p, []byte("# nothing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Service.URL != "" || len(c.Plugins) != 0 {
		t.Fatalf("got %+v", c)
	}
}

func TestBadFiles(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		// want is the expected "line:col: field: " prefix after the file name
		line  int
		field string
		msg   string
	}{
		{"unknown top field", "update_interval: 1s\nupdate_intervall: 2s\n", 2, "update_intervall", "unknown field"},
		{"unknown nested field", "plugins:\n  - name: a\n    kind: wasm\n    path: a.wasm\n    dedline: 1s\n", 5, "plugins[0].dedline", "unknown field"},
		{"wrong type duration", "update_interval: often\n", 1, "update_interval", "want a duration"},
		{"wrong type int", "plugins:\n  - name: a\n    kind: wasm\n    path: a\n    queue_size: lots\n", 5, "plugins[0].queue_size", "want an integer"},
		{"list for string", "service:\n  url: [a, b]\n", 2, "service.url", "want a string"},
		{"string for list", "context_features: user\n", 1, "context_features", "want a list"},
		{"bool for string", "state_dir: true\n", 1, "state_dir", "want a string"},
		{"bool typo", "service:\n  tls:\n    insecure_skip_verify: yes please\n", 3, "service.tls.insecure_skip_verify", "want true or false"},
		{"bad size", "plugins:\n  - {name: a, kind: wasm, path: a, memory_limit: 12 parsecs}\n", 2, "plugins[0].memory_limit", "want a size"},
		{"memory not in pages", "plugins:\n  - {name: a, kind: wasm, path: a, memory_limit: 100000}\n", 2, "plugins[0].memory_limit", "64KiB wasm pages"},
		{"memory too small", "plugins:\n  - {name: a, kind: wasm, path: a, memory_limit: 64KiB}\n", 2, "plugins[0].memory_limit", "between 128KiB"},
		{"output rate too low", "plugins:\n  - {name: a, kind: wasm, path: a, output: {rate: 100}}\n", 2, "plugins[0].output.rate", "at least 1KiB"},
		{"output line too long", "plugins:\n  - {name: a, kind: wasm, path: a, output: {max_line: 2MiB}}\n", 2, "plugins[0].output.max_line", "between 1KiB and 1MiB"},
		{"output not a size", "plugins:\n  - {name: a, kind: wasm, path: a, output: {burst: lots}}\n", 2, "plugins[0].output.burst", "want a size"},
		{"duplicate key", "admin:\n  listen: 127.0.0.1:1\n  listen: 127.0.0.1:2\n", 3, "admin.listen", "twice"},
		{"syntax error", "plugins: [\n", 1, "", "did not find"},
		{"bad kind", "plugins:\n  - name: a\n    kind: lua\n    path: a\n", 3, "plugins[0].kind", "want wasm or process"},
		{"missing path", "plugins:\n  - name: a\n    kind: wasm\n", 2, "plugins[0].path", "needs a path"},
		{"duplicate plugin", "plugins:\n  - {name: a, kind: wasm, path: a}\n  - name: a\n    kind: wasm\n    path: b\n", 3, "plugins[1].name", "used twice"},
		{"bad sha", "plugins:\n  - name: a\n    kind: wasm\n    path: a\n    sha256: abc\n", 5, "plugins[0].sha256", "64 hex"},
		{"admin public no token", "admin:\n  listen: 0.0.0.0:7070\n", 2, "admin.listen", "not a loopback"},
		{"admin all interfaces", "admin:\n  listen: :7070\n", 2, "admin.listen", "not a loopback"},
		{"embedded public", "embedded:\n  listen: 10.0.0.1:80\n", 2, "embedded.listen", "loopback only"},
		{"bad url", "service:\n  url: heksher:8888\n", 2, "service.url", "want an http"},
		{"bad feature", "context_features: [user, user]\n", 1, "context_features[1]", "twice"},
		{"empty tracked", "tracked_contexts:\n  user: []\n", 2, "tracked_contexts.user", "at least one"},
		{"setting without type", "settings:\n  - name: x\n    default: 1\n", 2, "settings[0].type", "type string"},
		{"setting without default", "settings:\n  - name: x\n    type: int\n", 2, "settings[0].default", "needs a default"},
		{"setting without configurable features", "settings:\n  - {name: x, type: int, default: 1}\n", 2, "settings[0].configurable_features", "at least one configurable feature"},
		{"two documents", "log: {level: info}\n---\nlog: {level: warn}\n", 2, "", "one YAML document"},
		{"bad log level", "log:\n  level: loud\n", 2, "log.level", "want debug"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "host.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%v does not match ErrInvalid", err)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("%T is not *Error", err)
			}
			if ce.File != p || ce.Line != tc.line || ce.Field != tc.field || !strings.Contains(ce.Msg, tc.msg) {
				t.Errorf("got %q (line %d field %q), want line %d field %q msg containing %q",
					err, ce.Line, ce.Field, tc.line, tc.field, tc.msg)
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("%q does not name the file", err)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	cases := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:80", true}, {"localhost:1", true}, {"[::1]:8080", true}, {"127.1.2.3:9", true},
		{"0.0.0.0:80", false}, {":80", false}, {"example.com:80", false}, {"127.0.0.1", false}, {"127.0.0.1:x", false},
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			if got := IsLoopback(tc.addr); got != tc.want {
				t.Errorf("IsLoopback(%q) = %v", tc.addr, got)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

func TestDirGrantRules(t *testing.T) {
	cases := []struct {
		name, yaml, field string
	}{
		{"dir for process", "plugins:\n  - name: a\n    kind: process\n    path: a\n    grants:\n      dir: {host: x}\n", "plugins[0].grants.dir"},
		{"dir without host", "plugins:\n  - name: a\n    kind: wasm\n    path: a\n    grants:\n      dir: {guest: /x}\n", "plugins[0].grants.dir.host"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "h.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p)
			var ce *Error
			if !errors.As(err, &ce) || ce.Field != tc.field {
				t.Fatalf("got %v, want an error at %s", err, tc.field)
			}
		})
	}
}

// The annotated example in docs/CONFIG.md stays a valid configuration.
func TestDocumentedExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/CONFIG.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	if !ok {
		t.Fatal("no yaml block in docs/CONFIG.md")
	}
	example, _, _ := strings.Cut(rest, "```")
	c, pos, err := Parse("docs/CONFIG.md", []byte(example))
	if err != nil {
		t.Fatal(err)
	}
	// The example shows a token beside a loopback address; both are valid.
	if err := c.validate("docs/CONFIG.md", pos); err != nil {
		t.Fatal(err)
	}
	if len(c.Plugins) != 2 || c.Plugins[0].Grants.Dir.Guest != "/audit" || c.Service.Timeout.D() != 10*time.Second {
		t.Errorf("example decoded as %+v", c)
	}
}
