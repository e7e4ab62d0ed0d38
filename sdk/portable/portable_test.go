package portable_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/plugintest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// build compiles the main package in dir (relative to this directory) both
// ways, as the docs say to: a wasm reactor with GOOS=wasip1 and a native
// executable. It returns the two files' paths.
func build(tb testing.TB, dir string) (wasmPath, procPath string) {
	tb.Helper()
	out := tb.TempDir()
	wasmPath, procPath = filepath.Join(out, "plugin.wasm"), filepath.Join(out, "plugin")
	var wg sync.WaitGroup
	wg.Go(func() { goBuild(tb, dir, wasmPath, true) })
	wg.Go(func() { goBuild(tb, dir, procPath, false) })
	wg.Wait()
	if tb.Failed() {
		tb.FailNow()
	}
	return wasmPath, procPath
}

// goBuild builds dir into out, as a wasm reactor or natively. It reports a
// failure with tb.Errorf, so that it may run on any goroutine.
func goBuild(tb testing.TB, dir, out string, wasm bool) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		tb.Errorf("the go command is needed to build %s: %v", dir, err)
		return
	}
	args := []string{"build", "-o", out, "."}
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	if wasm {
		cmd.Args = []string{goCmd, "build", "-buildmode=c-shared", "-o", out, "."}
		cmd.Env = append(cmd.Env, "GOOS=wasip1", "GOARCH=wasm")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, b)
	}
}

// run is what one runtime made of the test guest.
type run struct {
	logs    []string // the plugin's own log lines, "LEVEL message attrs"
	lookups []string // "setting features -> value source" or "-> error"
	errs    []string // what each Send returned
}

// pluginLine formats a line of the plugin's logger (not a line of the
// runtime about the plugin, nor of its stdout or stderr) as "LEVEL message
// key=value …", and reports whether l is one. A process plugin's records
// carry their attributes as attributes, in order, with the name of
// go-plugin's logger (the plugin's name) and the record's time. A wasm
// guest's attributes are in its message, in order.
func pluginLine(kind plugintest.Kind, l plugintest.Log) (string, bool) {
	var attrs []string
	fromPlugin := kind == plugintest.KindWasm && !strings.HasPrefix(l.Message, "wasm: ")
	for _, a := range l.Attrs {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "stream":
			return "", false
		case "logger": // go-plugin names the plugin's records after it
			fromPlugin = v == "guest"
		case "timestamp":
		default:
			// plugintest renders an attribute as key=%v; quote it as the
			// wasm guest's text does.
			if v == "" || strings.ContainsAny(v, " =\"\t\n") {
				v = strconv.Quote(v)
			}
			attrs = append(attrs, k+"="+v)
		}
	}
	return strings.Join(append([]string{l.Level.String(), l.Message}, attrs...), " "), fromPlugin
}

// open is plugintest.New with room for a loaded machine: the first load of
// a Go wasm module compiles it (seconds, longer under the race detector),
// and a Go guest's runtime starts in its _initialize.
func open(t testing.TB, path string, opts plugintest.Options) *plugintest.Plugin {
	t.Helper()
	opts.StartTimeout, opts.Deadline = 3*time.Minute, time.Minute
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	p, err := plugintest.Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("closing %s: %v", p.Name(), err)
		}
	})
	return p
}

func rule(id int64, value any, featureValues ...string) event.Rule {
	r := plugintest.Rule(value, featureValues...)
	r.ID = id
	return r
}

// drive loads the guest at path, sends it one event of each kind (and a
// failing change), and returns what it logged and looked up.
func drive(t *testing.T, path string, out *syncWriter) run {
	t.Helper()
	settings := plugintest.NewSettings(map[string]string{"env": "dev", "user": "guest"},
		plugintest.Setting{Name: "limit", Rules: []event.Rule{rule(11, 7, "env", "prod")}},
		plugintest.Setting{Name: "other", Rules: []event.Rule{rule(21, 1)}, ConfigurableFeatures: []string{"env"}},
		plugintest.Setting{Name: "fail", ConfigurableFeatures: []string{"env"}},
	)
	settings.SetOrigin(pluginapi.OriginSnapshot) // an origin each runtime must carry
	p := open(t, path, plugintest.Options{
		Name: "guest", Config: json.RawMessage(`{"env":"prod"}`), Settings: settings,
		Logger: slog.New(slog.NewTextHandler(out, nil)),
	})
	if m := p.Manifest(); m.Subscriptions != event.All || len(m.Declarations) != 2 || !slices.Equal(m.Settings, []string{"other", "fail"}) ||
		m.Declarations[0].Metadata["owner"] != "tests" || m.Declarations[1].Version != "1.1" {
		t.Fatalf("manifest %+v", m)
	}
	ctx := t.Context()
	var r run
	sent := func(err error) {
		if err == nil {
			r.errs = append(r.errs, "ok")
			return
		}
		r.errs = append(r.errs, err.Error())
	}
	sent(p.SendDeclared(ctx, "motd", "created"))
	sent(p.SendUpdateOK(ctx, "limit"))
	sent(p.SendUpdateError(ctx, errors.New("connection refused"), 3))
	sent(p.SendSettingChanged(ctx, "limit", rule(11, 7, "env", "prod"), rule(12, 9, "env", "prod", "user", "ann")))
	sent(p.SendSettingChanged(ctx, "fail"))
	// The first values of a setting selected besides the declared ones: a
	// start-up change (its old rules never retrieved).
	sent(p.Send(ctx, &event.SettingChanged{Header: event.Header{Seq: 7}, Setting: "other",
		New: event.RuleSet{Retrieved: true, Rules: []event.Rule{rule(21, 1)}}}))
	sent(p.Send(ctx, &event.Closing{Header: event.Header{Seq: 8}, Reason: event.ClosingReplaced}))
	// A process plugin's log records and output travel through pipes and
	// gRPC streams that the host reads on goroutines of its own: wait for
	// the last of them.
	waitFor(t, func() bool {
		var stdout, stderr, closing bool
		for _, l := range p.Logs() {
			stdout = stdout || l.Message == "stdout: goodbye"
			stderr = stderr || l.Message == "stderr: goodbye"
			closing = closing || strings.HasPrefix(l.Message, "closing")
		}
		return stdout && stderr && closing
	})
	for _, l := range p.Logs() {
		if s, ok := pluginLine(p.Kind(), l); ok {
			r.logs = append(r.logs, s)
		}
	}
	for _, l := range p.Lookups() {
		s := l.Setting + " " + featureString(l.Features) + " -> "
		switch {
		case errors.Is(l.Err, pluginapi.ErrNotFound):
			s += "not found"
		case errors.Is(l.Err, pluginapi.ErrNotDeclared):
			s += "not declared"
		case errors.Is(l.Err, pluginapi.ErrBadContext):
			s += "bad context"
		case l.Err != nil:
			s += l.Err.Error()
		default:
			s += string(l.Value.JSON) + " " + l.Value.Source.String()
		}
		r.lookups = append(r.lookups, s)
	}
	return r
}

func featureString(fs []pluginapi.Feature) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, f.Name+"="+f.Value)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// waitFor polls cond until it holds, for at most a minute.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncWriter serialises writes to a buffer that the test reads.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// The same source, built as a wasm guest and as a process plugin, logs the
// same lines, makes the same lookups and fails the same way in each
// runtime; in both, Init declares a setting by InitRequest.Declare and
// reads it at once as the host has it.
func TestOneSourceBothRuntimes(t *testing.T) {
	wasmPath, procPath := build(t, "testdata/guest")
	runs := map[plugintest.Kind]run{}
	outs := map[plugintest.Kind]*syncWriter{}
	for kind, path := range map[plugintest.Kind]string{plugintest.KindWasm: wasmPath, plugintest.KindProcess: procPath} {
		t.Run(string(kind), func(t *testing.T) {
			outs[kind] = &syncWriter{}
			runs[kind] = drive(t, path, outs[kind])
		})
		// An error from Init fails the load, with its text, in both.
		t.Run(string(kind)+"/init fails", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			p, err := plugintest.Open(ctx, path, plugintest.Options{
				Name: "guest", Config: json.RawMessage(`{"env":"fail"}`), StartTimeout: 3 * time.Minute,
			})
			if err == nil {
				_ = p.Close(ctx)
				t.Fatal("loaded")
			}
			if !strings.Contains(err.Error(), "guest: asked to fail its init") {
				t.Errorf("load failed with %v, want the init's error", err)
			}
		})
	}
	if t.Failed() {
		return
	}
	wantLogs := []string{
		`INFO init config_nil=false env=prod`,
		`INFO init limit for env=prod: 7 rule origin=snapshot <nil>`,
		`INFO declared motd 1.1 created tracked=true err=<nil> seq=1`,
		`INFO update ok not_modified=false etag="plugintest" changed=[limit] event_seq=2 seq=2 timed=true`,
		`WARN update error "connection refused" consecutive=3 since=1m0s`,
		`INFO changed limit initial=false unreadable=false: [11:7{env=prod}] default= retrieved=true -> [11:7{env=prod} 12:9{env=prod,user=ann}] default= retrieved=true`,
		`INFO limit for env=prod: 7 <nil>`,
		`INFO limit for env=prod,user=ann: 9 rule rule=12 <nil> origin=snapshot conditions=[{env prod} {user ann}]`,
		`INFO motd: "hi" <nil>`,
		`INFO unknown: errors.Is=true`,
		`INFO undeclared: errors.Is=true`,
		`INFO bad context: errors.Is=true`,
		`INFO limit as a string: failed=true`,
		`INFO changed other initial=true unreadable=true: [] default= retrieved=false -> [21:1{}] default= retrieved=true`,
		`INFO closing k="two words" reason=replaced n=1 g.z=2 g.a=1`,
	}
	wantLookups := []string{
		`limit {env=prod} -> 7 rule`, // in Init, declared just before
		`limit {env=prod} -> 7 rule`,
		`limit {env=prod,user=ann} -> 9 rule`,
		`motd {} -> "hi" local_default`,
		`nope {} -> not found`,
		`other {} -> not declared`,
		`limit {color=red} -> bad context`,
		`limit {env=prod} -> 7 rule`,
	}
	for kind, r := range runs {
		if !slices.Equal(r.logs, wantLogs) {
			t.Errorf("%s logged:\n%s\nwant:\n%s", kind, strings.Join(r.logs, "\n"), strings.Join(wantLogs, "\n"))
		}
		if !slices.Equal(r.lookups, wantLookups) {
			t.Errorf("%s looked up:\n%s\nwant:\n%s", kind, strings.Join(r.lookups, "\n"), strings.Join(wantLookups, "\n"))
		}
		// Each event but the failing change is handled; that one fails with
		// the handler's text, behind the runtime's words.
		for i, e := range r.errs {
			if want := "ok"; i != 4 && e != want {
				t.Errorf("%s: send %d: %s, want %s", kind, i+1, e, want)
			}
		}
		if len(r.errs) != 7 || !strings.HasSuffix(r.errs[4], ": guest: refusing the change of fail") {
			t.Errorf("%s: sends answered %q, the fifth should end with the handler's error", kind, r.errs)
		}
		// stdout and stderr reach the host's log under the plugin's name,
		// at info and warning level.
		out := outs[kind].String()
		for _, want := range []string{
			`level=INFO msg="stdout: goodbye" plugin=guest stream=stdout`,
			`level=WARN msg="stderr: goodbye" plugin=guest stream=stderr`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: the host's log lacks %q:\n%s", kind, want, out)
			}
		}
	}
}

// A portable plugin links nothing of the host, in either build: the
// contract it shares with the host is package pluginapi (and event).
func TestImportsNothingUnderHost(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the imports: %v", err)
	}
	for _, env := range [][]string{nil, {"GOOS=wasip1", "GOARCH=wasm"}} {
		cmd := exec.Command(goCmd, "list", "-deps", "./testdata/guest")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s go list: %v", env, err)
		}
		for _, pkg := range strings.Fields(string(out)) {
			if strings.HasPrefix(pkg, "github.com/heksher-go/heksher/host") {
				t.Errorf("%s: the guest imports %s", env, pkg)
			}
		}
	}
}
