package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/process"
	"github.com/heksher-go/heksher/pluginapi"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// greetings serves "greeting" by language; other settings are unknown.
type greetings struct {
	mu     sync.Mutex
	byLang map[string]string
}

func (g *greetings) set(lang, v string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.byLang[lang] = v
}

func (g *greetings) Lookup(_ context.Context, _, setting string, fs []pluginapi.Feature) (pluginapi.Value, error) {
	if setting != Setting {
		return pluginapi.Value{}, pluginapi.ErrNotFound
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	v := "hello"
	for _, f := range fs {
		if f.Name == "language" {
			if s, ok := g.byLang[f.Value]; ok {
				v = s
			}
		}
	}
	b, _ := json.Marshal(v)
	return pluginapi.Value{JSON: b, Source: pluginapi.SourceRule}, nil
}

func Test_main(t *testing.T) {
	path, _ := filepath.Abs(filepath.Join("bin", "process-changes"))
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: run `make process-plugins`: %v", path, err)
	}
	file := filepath.Join(t.TempDir(), "changes.log")
	cfg, _ := json.Marshal(map[string]any{"file": file, "languages": []string{"en", "fr"}})
	g := &greetings{byLang: map[string]string{}}
	p, err := process.Start(context.Background(), process.Config{Name: "changes", Path: path, Config: cfg}, g)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Close(context.Background()) }()
	if d := p.Manifest().Declarations; len(d) != 1 || d[0].Name != Setting || d[0].Type != "str" {
		t.Fatalf("declarations = %+v", d)
	}

	var seq uint64
	steps := []struct {
		name    string
		setting string
		change  func()
		want    []string
	}{
		{name: "french rule added", setting: Setting, change: func() { g.set("fr", "bonjour") },
			want: []string{`greeting[language=fr]: "hello" -> "bonjour"`}},
		{name: "other setting ignored", setting: "other", change: func() { g.set("en", "hi") },
			want: []string{`greeting[language=fr]: "hello" -> "bonjour"`}},
		{name: "english changed", setting: Setting, change: func() {},
			want: []string{`greeting[language=fr]: "hello" -> "bonjour"`, `greeting[language=en]: "hello" -> "hi"`}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.change()
			seq++
			ev := &event.SettingChanged{Header: event.Header{Seq: seq}, Setting: s.setting,
				Old: event.RuleSet{Retrieved: true, Default: json.RawMessage(`"hello"`)}}
			if err := p.Deliver(context.Background(), event.Delivery{Event: ev, Seq: seq}); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(file)
			got := strings.Split(strings.TrimSpace(string(b)), "\n")
			if strings.Join(got, "\n") != strings.Join(s.want, "\n") {
				t.Errorf("file = %q, want %q", got, s.want)
			}
		})
	}
	if st := p.Status(); st.Lookups != 4 {
		t.Errorf("lookups = %d, want 4 (two languages, two changes of greeting)", st.Lookups)
	}
}
