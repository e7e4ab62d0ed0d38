package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heksher-go/heksher/dispatch"
	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/pluginapi"
)

// fakePlugin stands in for a runtime's plugin where the test is about the
// host's bookkeeping rather than a runtime (those are tested with real wasm
// and processes in the end-to-end tests).
type fakePlugin struct {
	name     string
	manifest pluginapi.Manifest
	hang     chan struct{} // when non-nil, Deliver ignores ctx and waits for it
	entered  chan struct{} // when non-nil, closed as the first Deliver begins
	once     sync.Once

	mu         sync.Mutex
	deliveries []event.Delivery
	closed     bool
}

func (p *fakePlugin) Name() string                 { return p.name }
func (p *fakePlugin) Manifest() pluginapi.Manifest { return p.manifest }
func (p *fakePlugin) Deliver(_ context.Context, d event.Delivery) error {
	if p.entered != nil {
		p.once.Do(func() { close(p.entered) })
	}
	if p.hang != nil {
		<-p.hang
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deliveries = append(p.deliveries, d)
	return nil
}
func (p *fakePlugin) Status() pluginapi.Status {
	return pluginapi.Status{Name: p.name, Kind: "fake", State: pluginapi.StateRunning}
}
func (p *fakePlugin) Close(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}
func (p *fakePlugin) got() []event.Delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]event.Delivery(nil), p.deliveries...)
}
func (p *fakePlugin) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// fakeLoader reads the "plugin file" as a JSON manifest description.
type fakeLoader struct {
	mu      sync.Mutex
	loaded  map[string][]*fakePlugin
	hangs   map[string]chan struct{}
	entered map[string]chan struct{}
}

type fakeFile struct {
	Kinds []string                `json:"kinds"`
	Decls []pluginapi.Declaration `json:"decls"`
	Fail  string                  `json:"fail"`
	// Settings is the manifest's selection; nil stands for a plugin that
	// never selects ("*", every setting).
	Settings []string `json:"settings"`
}

func (l *fakeLoader) Load(_ context.Context, spec PluginSpec) (pluginapi.Plugin, error) {
	var f fakeFile
	if err := json.Unmarshal(spec.Content, &f); err != nil {
		return nil, err
	}
	if f.Fail != "" {
		return nil, errors.New(f.Fail)
	}
	var kinds []event.Kind
	for _, k := range f.Kinds {
		kk, _ := event.ParseKind(k)
		kinds = append(kinds, kk)
	}
	if f.Settings == nil {
		f.Settings = []string{pluginapi.AllSettings}
	}
	p := &fakePlugin{name: spec.Name, manifest: pluginapi.Manifest{Subscriptions: event.SetOf(kinds...), Declarations: f.Decls, Settings: f.Settings}}
	l.mu.Lock()
	defer l.mu.Unlock()
	p.hang = l.hangs[spec.Name]
	p.entered = l.entered[spec.Name]
	if l.loaded == nil {
		l.loaded = map[string][]*fakePlugin{}
	}
	l.loaded[spec.Name] = append(l.loaded[spec.Name], p)
	return p, nil
}

func (l *fakeLoader) latest(name string) *fakePlugin {
	l.mu.Lock()
	defer l.mu.Unlock()
	ps := l.loaded[name]
	if len(ps) == 0 {
		return nil
	}
	return ps[len(ps)-1]
}

func (l *fakeLoader) count(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.loaded[name])
}

type managerFixture struct {
	m        *manager
	loader   *fakeLoader
	disp     *dispatch.Dispatcher
	dir      string
	declared [][]pluginapi.Declaration
}

func newManagerFixture(t *testing.T) *managerFixture {
	t.Helper()
	f := &managerFixture{loader: &fakeLoader{hangs: map[string]chan struct{}{}}, disp: dispatch.New(), dir: t.TempDir()}
	f.m = &manager{
		log:      slog.New(slog.DiscardHandler),
		loaders:  map[string]Loader{"wasm": f.loader},
		disp:     f.disp,
		reg:      newRegistry(),
		settings: func(string, config.Grants) pluginapi.Settings { return nil },
		declare: func(_ context.Context, d []pluginapi.Declaration) error {
			f.declared = append(f.declared, d)
			return nil
		},
		running: map[string]*loadedPlugin{},
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = f.disp.Close(ctx)
		_ = f.m.close(ctx)
	})
	return f
}

func (f *managerFixture) file(t *testing.T, name string, ff fakeFile) string {
	t.Helper()
	return writeFake(t, f.dir, name, ff)
}

func writeFake(t testing.TB, dir, name string, ff fakeFile) string {
	t.Helper()
	b, _ := json.Marshal(ff)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func spec(name, path string) config.Plugin {
	return config.Plugin{Name: name, Kind: "wasm", Path: path}
}

func running(m *manager) string {
	var names []string
	for _, lp := range m.snapshot() {
		names = append(names, lp.spec.Name)
	}
	return strings.Join(names, ",")
}

var intDecl = pluginapi.Declaration{ConfigurableFeatures: []string{"user"}, Name: "limit", Type: "int", Default: json.RawMessage(`5`)}

func TestManagerReload(t *testing.T) {
	f := newManagerFixture(t)
	ctx := context.Background()
	a := f.file(t, "a", fakeFile{Kinds: []string{"update_ok"}, Decls: []pluginapi.Declaration{intDecl}})
	b := f.file(t, "b", fakeFile{Kinds: []string{"update_ok"}, Decls: []pluginapi.Declaration{{ConfigurableFeatures: []string{"user"}, Name: "limit", Type: "int", Default: json.RawMessage(` 5 `)}}})
	if err := f.m.apply(ctx, []config.Plugin{spec("a", a), spec("b", b)}); err != nil {
		t.Fatal(err)
	}
	if got := running(f.m); got != "a,b" {
		t.Fatalf("running %q", got)
	}
	if len(f.declared) != 1 || len(f.declared[0]) != 1 || f.declared[0][0].Name != "limit" {
		t.Fatalf("identical declarations should be declared once, got %v", f.declared)
	}
	if d, _ := f.m.reg.declaredBy("limit", "b"); !d {
		t.Fatal("b shares limit")
	}

	steps := []struct {
		name    string
		want    []config.Plugin
		prepare func()
		errIs   error
		running string
		loadsA  int
		loadsB  int
	}{
		{"unchanged set reloads nothing", []config.Plugin{spec("a", a), spec("b", b)}, nil, nil, "a,b", 1, 1},
		{"config change replaces", []config.Plugin{spec("a", a), {Name: "b", Kind: "wasm", Path: b, QueueSize: 3}}, nil, nil, "a,b", 1, 2},
		{"content change replaces", []config.Plugin{spec("a", a), {Name: "b", Kind: "wasm", Path: b, QueueSize: 3}}, func() {
			f.file(t, "a", fakeFile{Kinds: []string{"update_ok", "closing"}, Decls: []pluginapi.Declaration{intDecl}})
		}, nil, "a,b", 2, 2},
		{"conflict fails and keeps set", []config.Plugin{spec("a", a), spec("c", f.file(t, "c", fakeFile{Decls: []pluginapi.Declaration{{ConfigurableFeatures: []string{"user"}, Name: "limit", Type: "str", Default: json.RawMessage(`"x"`)}}}))}, nil, ErrConflict, "a,b", 2, 2},
		{"checksum mismatch fails and keeps set", []config.Plugin{spec("a", a), {Name: "b", Kind: "wasm", Path: b, SHA256: strings.Repeat("0", 64)}}, nil, ErrChecksum, "a,b", 2, 2},
		{"unknown kind fails", []config.Plugin{{Name: "z", Kind: "lua", Path: a}}, nil, ErrNoLoader, "a,b", 2, 2},
		{"runtime failure fails and keeps set", []config.Plugin{spec("a", a), spec("d", f.file(t, "d", fakeFile{Fail: "bad module"}))}, nil, nil, "a,b", 2, 2},
		{"remove", []config.Plugin{{Name: "b", Kind: "wasm", Path: b, QueueSize: 3}}, nil, nil, "b", 2, 2},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.prepare != nil {
				st.prepare()
			}
			before := f.loader.latest("a")
			err := f.m.apply(ctx, st.want)
			wantErr := st.errIs != nil || strings.Contains(st.name, "fails")
			if wantErr {
				var pe *PluginError
				if !errors.As(err, &pe) {
					t.Fatalf("err %v is not a *PluginError", err)
				}
				if st.errIs != nil && !errors.Is(err, st.errIs) {
					t.Fatalf("err %v, want %v", err, st.errIs)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got := running(f.m); got != st.running {
				t.Errorf("running %q, want %q", got, st.running)
			}
			if f.loader.count("a") != st.loadsA || f.loader.count("b") != st.loadsB {
				t.Errorf("loads a=%d b=%d, want %d %d", f.loader.count("a"), f.loader.count("b"), st.loadsA, st.loadsB)
			}
			if wantErr && before != nil && before.isClosed() && st.running != "b" {
				t.Error("a failed reload closed a running plugin")
			}
		})
	}
	if !f.loader.loaded["a"][1].isClosed() || !f.loader.loaded["b"][0].isClosed() {
		t.Error("retired plugins must be closed")
	}
	if c := f.loader.loaded["c"]; len(c) != 1 || !c[0].isClosed() {
		t.Error("a plugin whose load failed must be closed")
	}
}

func TestConflictErrorNamesField(t *testing.T) {
	f := newManagerFixture(t)
	a := f.file(t, "a", fakeFile{Decls: []pluginapi.Declaration{intDecl}})
	c := f.file(t, "c", fakeFile{Decls: []pluginapi.Declaration{{ConfigurableFeatures: []string{"user"}, Name: "limit", Type: "int", Default: json.RawMessage(`6`)}}})
	err := f.m.apply(context.Background(), []config.Plugin{spec("a", a), spec("c", c)})
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Field != "default_value" || ce.Have != "5" || ce.Want != "6" {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), `plugin "c"`) || !strings.Contains(err.Error(), `"limit"`) {
		t.Errorf("message %q should name the plugin and setting", err)
	}
}

// A plugin that hangs ignoring its context must not delay events to the
// others, and the update loop's Publish must not block.
func TestHungPluginDelaysOnlyItself(t *testing.T) {
	f := newManagerFixture(t)
	hang := make(chan struct{})
	f.loader.hangs["slow"] = hang
	defer close(hang)
	p := f.file(t, "p", fakeFile{Kinds: []string{"update_ok"}})
	err := f.m.apply(context.Background(), []config.Plugin{
		{Name: "slow", Kind: "wasm", Path: p, Deadline: config.Duration(50 * time.Millisecond), QueueSize: 2},
		spec("fast", p),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Publish returns although slow's queue of two is full and its worker
	// stuck: the events that do not fit are dropped, not waited for.
	for i := 1; i <= 10; i++ {
		f.disp.Publish(&event.UpdateOK{Header: event.Header{Seq: uint64(i), Time: time.Now()}})
	}
	for _, st := range f.disp.Stats() {
		if st.Name == "slow" && st.Dropped == 0 {
			t.Errorf("slow's queue of two took ten events without a drop: %+v", st)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(f.loader.latest("fast").got()) < 10 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	got := f.loader.latest("fast").got()
	if len(got) != 10 {
		t.Fatalf("fast plugin got %d of 10 events while slow hung", len(got))
	}
	for i, d := range got {
		if d.Seq != uint64(i+1) || d.Dropped != 0 {
			t.Fatalf("fast delivery %d = %+v", i, d)
		}
	}
}

// A plugin that falls behind loses the oldest events, counted, and sees the
// gaps in its numbering; the closing event is never dropped, even from a
// full queue.
func TestSlowPluginDropsOldestAndSeesGaps(t *testing.T) {
	f := newManagerFixture(t)
	hold, entered := make(chan struct{}), make(chan struct{})
	f.loader.hangs["slow"] = hold
	f.loader.entered = map[string]chan struct{}{"slow": entered}
	p := f.file(t, "p", fakeFile{Kinds: []string{"update_ok", "closing"}})
	if err := f.m.apply(context.Background(), []config.Plugin{{Name: "slow", Kind: "wasm", Path: p, QueueSize: 3, Deadline: config.Duration(time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	// Event 1 is being delivered (the plugin holds it) before the others
	// come: 2..10 overflow the queue of three, and closing (11) pushes out
	// the oldest update instead of being dropped itself.
	f.disp.Publish(&event.UpdateOK{Header: event.Header{Seq: 1}})
	<-entered
	for i := 2; i <= 10; i++ {
		f.disp.Publish(&event.UpdateOK{Header: event.Header{Seq: uint64(i)}})
	}
	f.disp.Publish(&event.Closing{Header: event.Header{Seq: 11}})
	var counted uint64
	for _, st := range f.disp.Stats() {
		if st.Name == "slow" {
			counted = st.Dropped
		}
	}
	if counted != 7 {
		t.Errorf("the host counted %d drops, want 7 (events 2-8)", counted)
	}
	close(hold)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.disp.Close(ctx); err != nil {
		t.Fatal(err)
	}
	type got struct {
		event, seq, dropped uint64
		kind                event.Kind
	}
	var have []got
	for _, d := range f.loader.latest("slow").got() {
		have = append(have, got{d.Event.Head().Seq, d.Seq, d.Dropped, d.Event.Kind()})
	}
	want := []got{
		{1, 1, 0, event.KindUpdateOK},
		{9, 9, 7, event.KindUpdateOK}, // 2-8 dropped: the oldest went first
		{10, 10, 0, event.KindUpdateOK},
		{11, 11, 0, event.KindClosing},
	}
	if fmt.Sprint(have) != fmt.Sprint(want) {
		t.Errorf("deliveries (event, delivery number, dropped before, kind)\n got %v\nwant %v", have, want)
	}
}

func TestNormalize(t *testing.T) {
	cases := []struct {
		name    string
		d       pluginapi.Declaration
		wantErr string
		check   func(pluginapi.Declaration) bool
	}{
		{"type and default normalised", pluginapi.Declaration{ConfigurableFeatures: []string{"user"}, Name: "e", Type: `Enum["b", "a"]`, Default: json.RawMessage(` "a" `)}, "",
			func(d pluginapi.Declaration) bool {
				return d.Type == `Enum["a","b"]` && string(d.Default) == `"a"` && d.Version == "1.0"
			}},
		{"no name", pluginapi.Declaration{Type: "int", Default: json.RawMessage(`1`)}, "no name", nil},
		{"bad type", pluginapi.Declaration{ConfigurableFeatures: []string{"user"}, Name: "x", Type: "integer", Default: json.RawMessage(`1`)}, "x", nil},
		{"no default", pluginapi.Declaration{ConfigurableFeatures: []string{"user"}, Name: "x", Type: "int"}, "needs a default", nil},
		{"default of the wrong type", pluginapi.Declaration{ConfigurableFeatures: []string{"user"}, Name: "x", Type: "int", Default: json.RawMessage(`"one"`)}, "is not a int", nil},
		{"default not JSON", pluginapi.Declaration{ConfigurableFeatures: []string{"user"}, Name: "x", Type: "int", Default: json.RawMessage(`{`)}, "not JSON", nil},
		{"no configurable feature", pluginapi.Declaration{Name: "x", Type: "int", Default: json.RawMessage(`1`)}, "at least one configurable feature", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := normalize(tc.d)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(d) {
				t.Fatalf("got %+v, %v", d, err)
			}
		})
	}
}

// blockingLoader ignores its context until release is closed, like a
// runtime stuck waiting for a plugin that never completes its start.
type blockingLoader struct {
	entered chan struct{}
	release chan struct{}
	plugin  *fakePlugin
}

func (l *blockingLoader) Load(_ context.Context, spec PluginSpec) (pluginapi.Plugin, error) {
	close(l.entered)
	<-l.release
	return l.plugin, nil
}

// A reload whose context ends while a runtime is stuck in Load returns at
// once with the running set unchanged; the plugin the runtime returns later
// is closed, never run.
func TestApplyAbandonsAStuckLoad(t *testing.T) {
	f := newManagerFixture(t)
	a := f.file(t, "a", fakeFile{Kinds: []string{"update_ok"}})
	if err := f.m.apply(context.Background(), []config.Plugin{spec("a", a)}); err != nil {
		t.Fatal(err)
	}
	bl := &blockingLoader{entered: make(chan struct{}), release: make(chan struct{}), plugin: &fakePlugin{name: "late"}}
	f.m.loaders["process"] = bl
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- f.m.apply(ctx, []config.Plugin{spec("a", a), {Name: "late", Kind: "process", Path: a}})
	}()
	<-bl.entered
	cancel()
	err := <-errc
	var pe *PluginError
	if !errors.As(err, &pe) || pe.Plugin != "late" || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want a *PluginError for late wrapping context.Canceled", err)
	}
	if got := running(f.m); got != "a" {
		t.Errorf("running %q after an abandoned load, want a", got)
	}
	close(bl.release)
	eventually(t, "the late plugin closed", bl.plugin.isClosed)
	if got := running(f.m); got != "a" {
		t.Errorf("running %q after the late plugin arrived, want a", got)
	}
}

func TestDrainContext(t *testing.T) {
	cases := []struct {
		name    string
		budget  time.Duration // 0: no deadline
		reserve time.Duration // the most kept back
	}{
		{"no deadline", 0, 0},
		{"short budget keeps a quarter", 400 * time.Millisecond, 100 * time.Millisecond},
		{"long budget keeps a second", 10 * time.Second, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.budget > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.budget)
				defer cancel()
			}
			dctx, cancel := drainContext(ctx)
			defer cancel()
			dl, ok := ctx.Deadline()
			ddl, dok := dctx.Deadline()
			if ok != dok {
				t.Fatalf("deadline %v, drain deadline %v", ok, dok)
			}
			if !ok {
				return
			}
			if kept := dl.Sub(ddl); kept <= 0 || kept > tc.reserve {
				t.Errorf("the drain ends %v before the budget, want (0, %v]", kept, tc.reserve)
			}
		})
	}
}
