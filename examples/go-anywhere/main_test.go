package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// build compiles this directory both ways, as the README says: a wasm
// reactor with GOOS=wasip1 and a native executable.
func build(t *testing.T) map[plugintest.Kind]string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the example both ways: %v", err)
	}
	dir := t.TempDir()
	paths := map[plugintest.Kind]string{
		plugintest.KindWasm: filepath.Join(dir, "plugin.wasm"), plugintest.KindProcess: filepath.Join(dir, "go-anywhere"),
	}
	var wg sync.WaitGroup
	for _, b := range []struct {
		env  []string
		args []string
	}{
		{[]string{"GOOS=wasip1", "GOARCH=wasm"}, []string{"build", "-buildmode=c-shared", "-o", paths[plugintest.KindWasm], "."}},
		{nil, []string{"build", "-o", paths[plugintest.KindProcess], "."}},
	} {
		wg.Go(func() {
			cmd := exec.Command(goCmd, b.args...)
			cmd.Env = append(os.Environ(), b.env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s go %s: %v\n%s", strings.Join(b.env, " "), strings.Join(b.args, " "), err, out)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return paths
}

// Test_main builds main.go as a wasm guest and as a process plugin, loads
// each through plugintest against the same fake settings, and expects the
// same manifest, lookups, logs and errors from both.
func Test_main(t *testing.T) {
	paths := build(t)
	for _, kind := range []plugintest.Kind{plugintest.KindWasm, plugintest.KindProcess} {
		t.Run(string(kind), func(t *testing.T) {
			// alert_after is 2 for env=prod.
			settings := plugintest.NewSettings(nil, plugintest.Setting{
				Name: "alert_after", Rules: []event.Rule{plugintest.Rule(2, "env", "prod"), plugintest.Rule(5, "env", "dev")},
			})
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			// Room for a loaded machine: a Go wasm module's first load
			// compiles it, and its runtime starts in _initialize.
			p, err := plugintest.Open(ctx, paths[kind], plugintest.Options{
				Name: "anywhere", Settings: settings, StartTimeout: 3 * time.Minute, Deadline: time.Minute,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := p.Close(context.Background()); err != nil {
					t.Error(err)
				}
			}()
			if p.Kind() != kind {
				t.Fatalf("loaded as %s", p.Kind())
			}
			m := p.Manifest()
			if m.Subscriptions != event.SetOf(event.KindUpdateError) || len(m.Declarations) != 1 ||
				m.Declarations[0].Name != "alert_after" || m.Declarations[0].Type != "int" {
				t.Fatalf("manifest %+v", m)
			}
			for i, n := range []int{1, 2, 3} {
				if err := p.SendUpdateError(ctx, errors.New("connection refused"), n); err != nil {
					t.Fatalf("update error %d: %v", i+1, err)
				}
			}
			want := []string{
				"WARN ALERT: 2 updates failed in a row: connection refused",
				"WARN ALERT: 3 updates failed in a row: connection refused",
			}
			// A process plugin's records reach the host through a pipe read
			// on a goroutine of its own.
			waitFor(t, func() bool { return len(alerts(p)) >= len(want) })
			if got := alerts(p); !slices.Equal(got, want) {
				t.Errorf("alerts %q, want %q", got, want)
			}
			var looked []string
			for _, l := range p.Lookups() {
				looked = append(looked, l.Setting+" "+l.Features[0].Name+"="+l.Features[0].Value+" "+string(l.Value.JSON)+" "+l.Value.Source.String())
			}
			if want := slices.Repeat([]string{"alert_after env=prod 2 rule"}, 3); !slices.Equal(looked, want) {
				t.Errorf("lookups %q, want %q", looked, want)
			}
			// The lookup's error fails the delivery: once alert_after is
			// configurable by user only, env=prod is a bad context.
			settings.Set(plugintest.Setting{Name: "alert_after", ConfigurableFeatures: []string{"user"}})
			err = p.SendUpdateError(ctx, errors.New("timeout"), 4)
			if err == nil || !strings.Contains(err.Error(), "alert_after") {
				t.Errorf("update error with a setting that cannot be read: %v, want the lookup's error", err)
			}
			ls := p.Lookups()
			if last := ls[len(ls)-1]; !errors.Is(last.Err, pluginapi.ErrBadContext) {
				t.Errorf("last lookup %+v, want bad context", last)
			}
			if err := p.SendClosing(ctx); !errors.Is(err, plugintest.ErrNotSubscribed) {
				t.Errorf("closing: %v, want ErrNotSubscribed", err)
			}
		})
	}
}

// alerts returns the plugin's warnings as "LEVEL message".
func alerts(p *plugintest.Plugin) []string {
	var out []string
	for _, l := range p.Logs() {
		if strings.HasPrefix(l.Message, "ALERT") {
			out = append(out, l.Level.String()+" "+l.Message)
		}
	}
	return out
}

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

// The example fits in 30 lines of Go, blank lines and comments not counted.
func TestExampleFitsIn30Lines(t *testing.T) {
	f, err := os.Open("main.go")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "//") {
			n++
		}
	}
	if n > 30 {
		t.Errorf("main.go has %d lines that are neither blank nor comments, want at most 30", n)
	}
	t.Logf("%d lines", n)
}

// Run by hand, the process build says what it is and exits with status 1.
func TestRunByHand(t *testing.T) {
	path := build(t)[plugintest.KindProcess]
	out, err := exec.Command(path).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1", err)
	}
	if !strings.Contains(string(out), "this binary is a Heksher plugin") {
		t.Errorf("output %q", out)
	}
}
