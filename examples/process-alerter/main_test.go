package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/process"
	"github.com/heksher-go/heksher/pluginapi"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type noSettings struct{}

func (noSettings) Lookup(context.Context, string, string, []pluginapi.Feature) (pluginapi.Value, error) {
	return pluginapi.Value{}, pluginapi.ErrNotFound
}

// start loads the alerter built by `make process-plugins`.
func start(t *testing.T, cfg any) *process.Plugin {
	t.Helper()
	path, _ := filepath.Abs(filepath.Join("bin", "process-alerter"))
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: run `make process-plugins`: %v", path, err)
	}
	raw, _ := json.Marshal(cfg)
	p, err := process.Start(context.Background(), process.Config{Name: "alerter", Path: path, Config: raw}, noSettings{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

func Test_main(t *testing.T) {
	var mu sync.Mutex
	var posts []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, string(b))
		mu.Unlock()
	}))
	defer hook.Close()
	file := filepath.Join(t.TempDir(), "alerts.log")
	p := start(t, map[string]any{"file": file, "threshold": 3, "webhook": hook.URL})
	if got := p.Manifest().Subscriptions; got != event.SetOf(event.KindUpdateOK, event.KindUpdateError) {
		t.Errorf("subscriptions = %v", got.Kinds())
	}

	last := time.Now().Add(-time.Minute)
	var seq uint64
	deliver := func(e event.Event) {
		t.Helper()
		seq++
		if err := p.Deliver(context.Background(), event.Delivery{Event: e, Seq: seq}); err != nil {
			t.Fatalf("delivery %d: %v", seq, err)
		}
	}
	fail := func(n int) {
		deliver(&event.UpdateError{Header: event.Header{Time: time.Now()}, Err: errors.New("connection refused"),
			ConsecutiveFailures: n, LastSuccess: last})
	}
	ok := func() { deliver(&event.UpdateOK{}) }

	steps := []struct {
		name string
		do   func()
		want []string // prefixes of the file's lines so far
	}{
		{name: "below threshold", do: func() { fail(1); fail(2) }, want: nil},
		{name: "threshold reached", do: func() { fail(3) }, want: []string{"ALERT: 3 consecutive"}},
		{name: "no repeat while failing", do: func() { fail(4) }, want: []string{"ALERT: 3 consecutive"}},
		{name: "all clear", do: ok, want: []string{"ALERT: 3 consecutive", "ALL-CLEAR"}},
		{name: "quiet while healthy", do: ok, want: []string{"ALERT: 3 consecutive", "ALL-CLEAR"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.do()
			b, err := os.ReadFile(file)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				if l != "" {
					_, text, _ := strings.Cut(l, " ") // drop the timestamp
					lines = append(lines, text)
				}
			}
			if len(lines) != len(s.want) {
				t.Fatalf("lines = %q, want prefixes %q", lines, s.want)
			}
			for i := range lines {
				if !strings.HasPrefix(lines[i], s.want[i]) {
					t.Errorf("line %d = %q, want prefix %q", i, lines[i], s.want[i])
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(posts) != len(s.want) {
				t.Errorf("webhook got %d posts, want %d", len(posts), len(s.want))
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posts) == 0 {
		t.Fatal("the webhook got no post")
	}
	if !strings.Contains(posts[0], "connection refused") || !strings.Contains(posts[0], "last success 1m") {
		t.Errorf("alert post %q lacks the error or the time since the last success", posts[0])
	}
}

func Test_mainBadConfig(t *testing.T) {
	path, _ := filepath.Abs(filepath.Join("bin", "process-alerter"))
	tests := []struct {
		name string
		cfg  string
	}{
		{name: "no file", cfg: `{"threshold": 2}`},
		{name: "webhook off loopback", cfg: `{"file": "/tmp/x", "webhook": "http://example.com/hook"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := process.Start(context.Background(), process.Config{Name: "alerter", Path: path, Config: []byte(tc.cfg)}, noSettings{})
			if !errors.Is(err, process.ErrInit) {
				t.Fatalf("err = %v, want ErrInit", err)
			}
		})
	}
}
