package heksherof_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/heksherof"
	"github.com/heksher-go/heksher/hekshertest"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// world is a compatible server, a client bound to it (never main), the
// provider as the client's hook, and an isolated OpenFeature API using it.
type world struct {
	srv    *hekshertest.Server
	client *heksher.Client
	p      *heksherof.Provider
	api    *openfeature.EvaluationAPI
	of     *openfeature.Client
	events *eventLog
}

type eventLog struct {
	mu  sync.Mutex
	got []openfeature.EventDetails
	typ []openfeature.EventType
}

func (l *eventLog) handler(t openfeature.EventType) openfeature.EventCallback {
	f := func(d openfeature.EventDetails) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.got = append(l.got, d)
		l.typ = append(l.typ, t)
	}
	return &f
}

// wait polls until an event of type t satisfying ok arrived, for up to 5 s.
func (l *eventLog) wait(tb testing.TB, t openfeature.EventType, ok func(openfeature.EventDetails) bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		for i, d := range l.got {
			if l.typ[i] == t && (ok == nil || ok(d)) {
				l.mu.Unlock()
				return
			}
		}
		l.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tb.Fatalf("no %s event within 5 s; got %v", t, l.typ)
}

func newWorld(t *testing.T, declare func(c *heksher.Client), opts ...heksherof.Option) *world {
	t.Helper()
	w := &world{events: &eventLog{}}
	w.srv = hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"))
	w.p = heksherof.New(opts...)
	c, err := heksher.NewClient(w.srv.URL, time.Hour, []string{"user", "theme"},
		heksher.WithHooks(w.p), heksher.WithHTTPClient(w.srv.Client()), heksher.WithDegradedStart(heksher.Backoff{Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	w.client = c
	if err := c.TrackContexts(map[string][]string{"user": {heksher.TrackAll}, "theme": {heksher.TrackAll}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	w.p.UseClient(c)
	declare(c)
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	w.api = isolated.NewAPI()
	for _, et := range []openfeature.EventType{openfeature.ProviderReady, openfeature.ProviderConfigChange, openfeature.ProviderStale, openfeature.ProviderError} {
		w.api.AddHandler(et, w.events.handler(et))
	}
	t.Cleanup(func() { _ = w.api.Shutdown(context.Background()) })
	return w
}

func (w *world) start(t *testing.T) {
	t.Helper()
	if err := w.api.SetProviderAndWait(t.Context(), w.p); err != nil {
		t.Fatalf("SetProviderAndWait: %v", err)
	}
	w.of = w.api.NewClient()
}

func decl[T any](tb testing.TB, o heksher.SettingOption, name string, typ heksher.Type[T], features []string, def T) *heksher.Setting[T] {
	tb.Helper()
	s, err := heksher.NewSetting(name, typ, features, def, o)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// must returns v, failing the test given to the result if err is set.
func must[T any](v T, err error) func(testing.TB) T {
	return func(tb testing.TB) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

func uniq(t *testing.T, name string) string { return fmt.Sprintf("%s_%s", name, t.Name()) }

func TestEveryTypeThroughTheSDKAgainstARealServer(t *testing.T) {
	t.Parallel()
	n := func(s string) string { return uniq(t, s) }
	var (
		flag   *heksher.Setting[bool]
		size   *heksher.Setting[int64]
		ratio  *heksher.Setting[float64]
		banner *heksher.Setting[string]
		color  *heksher.Setting[string]
		perms  *heksher.Setting[heksher.FlagSet]
		ports  *heksher.Setting[[]int64]
		limits *heksher.Setting[map[string]int64]
	)
	w := newWorld(t, func(c *heksher.Client) {
		o := heksher.WithClient(c)
		flag = decl(t, o, n("flag"), heksher.Bool(), []string{"user"}, false)
		size = decl(t, o, n("size"), heksher.Int(), []string{"user", "theme"}, 50)
		ratio = decl(t, o, n("ratio"), heksher.Float(), []string{"user"}, 0.5)
		banner = decl(t, o, n("banner"), heksher.Str(), []string{"user"}, "hi")
		color = decl(t, o, n("color"), heksher.Enum(heksher.EnumMember[string]{Value: "red", Wire: "red"}, heksher.EnumMember[string]{Value: "blue", Wire: "blue"}), []string{"user"}, "red")
		perms = decl(t, o, n("perms"), heksher.Flags("read", "write"), []string{"user"}, heksher.NewFlagSet("read"))
		ports = decl(t, o, n("ports"), heksher.Sequence(heksher.Int()), []string{"user"}, []int64{80})
		limits = decl(t, o, n("limits"), heksher.Mapping(heksher.Int()), []string{"user"}, map[string]int64{"a": 1})
	}, heksherof.WithTargetingFeature("user"))
	_ = flag
	_, _, _, _, _, _, _ = size, ratio, banner, color, perms, ports, limits
	ruleID := must(w.srv.AddRule(n("size"), map[string]string{"user": "alice", "theme": "dark"}, 7))(t)
	must(w.srv.AddRule(n("flag"), map[string]string{"user": "alice"}, true))(t)
	must(w.srv.AddRule(n("ratio"), map[string]string{"user": "alice"}, 1.5))(t)
	must(w.srv.AddRule(n("banner"), map[string]string{"user": "alice"}, "hello alice"))(t)
	must(w.srv.AddRule(n("color"), map[string]string{"user": "alice"}, "blue"))(t)
	must(w.srv.AddRule(n("perms"), map[string]string{"user": "alice"}, []string{"read", "write"}))(t)
	must(w.srv.AddRule(n("ports"), map[string]string{"user": "alice"}, []int{80, 443}))(t)
	must(w.srv.AddRule(n("limits"), map[string]string{"user": "alice"}, map[string]int{"a": 2}))(t)
	if err := w.client.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	w.start(t)
	ctx := t.Context()
	alice := openfeature.NewEvaluationContext("alice", map[string]any{"theme": "dark", "unrelated": []any{"ignored"}})

	b := must(w.of.BooleanValueDetails(ctx, n("flag"), false, alice))(t)
	if !b.Value || b.Reason != openfeature.TargetingMatchReason {
		t.Errorf("bool: %+v", b)
	}
	i := must(w.of.IntValueDetails(ctx, n("size"), 0, alice))(t)
	if i.Value != 7 || i.Reason != openfeature.TargetingMatchReason || i.Variant != fmt.Sprint(ruleID) ||
		i.FlagMetadata["condition.user"] != "alice" || i.FlagMetadata["condition.theme"] != "dark" || i.FlagMetadata["source"] != "rule" {
		t.Errorf("int: %+v", i)
	}
	if f := must(w.of.FloatValueDetails(ctx, n("ratio"), 0, alice))(t); f.Value != 1.5 {
		t.Errorf("float: %+v", f)
	}
	if f := must(w.of.FloatValueDetails(ctx, n("size"), 0, alice))(t); f.Value != 7 {
		t.Errorf("int as float: %+v", f)
	}
	if s := must(w.of.StringValueDetails(ctx, n("banner"), "", alice))(t); s.Value != "hello alice" {
		t.Errorf("string: %+v", s)
	}
	if s := must(w.of.StringValueDetails(ctx, n("color"), "", alice))(t); s.Value != "blue" {
		t.Errorf("enum: %+v", s)
	}
	if o := must(w.of.ObjectValueDetails(ctx, n("perms"), nil, alice))(t); fmt.Sprint(o.Value) != "[read write]" {
		t.Errorf("flags: %+v", o)
	}
	if o := must(w.of.ObjectValueDetails(ctx, n("ports"), nil, alice))(t); fmt.Sprint(o.Value) != "[80 443]" {
		t.Errorf("sequence: %+v", o)
	}
	if o := must(w.of.ObjectValueDetails(ctx, n("limits"), nil, alice))(t); fmt.Sprint(o.Value) != "map[a:2]" {
		t.Errorf("mapping: %+v", o)
	}
	// The server default: DEFAULT, no variant.
	bob := openfeature.NewEvaluationContext("bob", map[string]any{"theme": "light"})
	if d := must(w.of.IntValueDetails(ctx, n("size"), 0, bob))(t); d.Value != 50 || d.Reason != openfeature.DefaultReason || d.Variant != "" {
		t.Errorf("server default: %+v", d)
	}
}

func TestErrorsThroughTheSDK(t *testing.T) {
	t.Parallel()
	n := func(s string) string { return uniq(t, s) }
	w := newWorld(t, func(c *heksher.Client) {
		o := heksher.WithClient(c)
		decl(t, o, n("size"), heksher.Int(), []string{"user", "theme"}, 50)
	}, heksherof.WithTargetingFeature("user"))
	must(w.srv.AddRule(n("size"), map[string]string{"user": "alice", "theme": "dark"}, 7))(t)
	if err := w.client.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	w.start(t)
	ctx := t.Context()
	cases := []struct {
		name string
		run  func() (openfeature.ErrorCode, error)
		want openfeature.ErrorCode
	}{
		{"unknown flag", func() (openfeature.ErrorCode, error) {
			d, err := w.of.IntValueDetails(ctx, "no_such_setting", 3, openfeature.EvaluationContext{})
			return d.ErrorCode, err
		}, openfeature.FlagNotFoundCode},
		{"wrong type", func() (openfeature.ErrorCode, error) {
			d, err := w.of.BooleanValueDetails(ctx, n("size"), true, openfeature.NewEvaluationContext("alice", nil))
			return d.ErrorCode, err
		}, openfeature.TypeMismatchCode},
		{"targeting key missing", func() (openfeature.ErrorCode, error) {
			d, err := w.of.IntValueDetails(ctx, n("size"), 3, openfeature.NewTargetlessEvaluationContext(map[string]any{"theme": "dark"}))
			return d.ErrorCode, err
		}, openfeature.TargetingKeyMissingCode},
		{"feature missing", func() (openfeature.ErrorCode, error) {
			d, err := w.of.IntValueDetails(ctx, n("size"), 3, openfeature.NewEvaluationContext("alice", nil))
			return d.ErrorCode, err
		}, openfeature.InvalidContextCode},
		{"object attribute", func() (openfeature.ErrorCode, error) {
			d, err := w.of.IntValueDetails(ctx, n("size"), 3, openfeature.NewEvaluationContext("alice", map[string]any{"theme": map[string]any{"x": 1}}))
			return d.ErrorCode, err
		}, openfeature.InvalidContextCode},
	}
	for _, c := range cases {
		code, err := c.run()
		if code != c.want || err == nil {
			t.Errorf("%s: code %q err %v, want %q", c.name, code, err, c.want)
		}
	}
	// The default value is what a failed evaluation returns.
	if v, _ := w.of.IntValue(ctx, "no_such_setting", 3, openfeature.EvaluationContext{}); v != 3 {
		t.Errorf("unknown flag gave %d, want the default 3", v)
	}
}

func TestStrictContextRefusesUnknownAttributes(t *testing.T) {
	t.Parallel()
	n := uniq(t, "size")
	w := newWorld(t, func(c *heksher.Client) {
		decl(t, heksher.WithClient(c), n, heksher.Int(), []string{"user"}, 50)
	}, heksherof.WithStrictContext())
	w.start(t)
	d, err := w.of.IntValueDetails(t.Context(), n, 3, openfeature.NewTargetlessEvaluationContext(map[string]any{"user": "a", "planet": "mars"}))
	if err == nil || d.ErrorCode != openfeature.InvalidContextCode {
		t.Fatalf("got %+v, %v; want INVALID_CONTEXT", d, err)
	}
}

func TestEventsFollowTheClient(t *testing.T) {
	t.Parallel()
	n := uniq(t, "size")
	w := newWorld(t, func(c *heksher.Client) {
		decl(t, heksher.WithClient(c), n, heksher.Int(), []string{"user"}, 50)
	})
	w.start(t)
	w.events.wait(t, openfeature.ProviderReady, nil)

	// A rule change: PROVIDER_CONFIGURATION_CHANGED naming the flag, and the new value.
	must(w.srv.AddRule(n, map[string]string{"user": "alice"}, 9))(t)
	if err := w.client.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	w.events.wait(t, openfeature.ProviderConfigChange, func(d openfeature.EventDetails) bool {
		return len(d.FlagChanges) == 1 && d.FlagChanges[0] == n
	})
	ec := openfeature.NewTargetlessEvaluationContext(map[string]any{"user": "alice"})
	if v, _ := w.of.IntValue(t.Context(), n, 0, ec); v != 9 {
		t.Fatalf("after the change: %d, want 9", v)
	}

	// The service goes away: PROVIDER_STALE, values held.
	w.srv.Stop()
	if err := w.client.Reload(t.Context()); err == nil {
		t.Fatal("reload with the service stopped succeeded")
	}
	w.events.wait(t, openfeature.ProviderStale, nil)
	if v, _ := w.of.IntValue(t.Context(), n, 0, ec); v != 9 {
		t.Fatalf("stale: %d, want the held 9", v)
	}
	if w.of.State() != openfeature.StaleState {
		t.Errorf("client state %s, want STALE", w.of.State())
	}
	// It comes back: PROVIDER_READY.
	if err := w.srv.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for w.client.Reload(t.Context()) != nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	waitState(t, w.of, openfeature.ReadyState)
}

func waitState(t *testing.T, c *openfeature.Client, want openfeature.State) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("state %s, want %s within 5 s", c.State(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNoValuesEverRetrievedIsAnErrorUntilAnUpdateSucceeds(t *testing.T) {
	t.Parallel()
	n := uniq(t, "size")
	w := &world{events: &eventLog{}}
	w.srv = hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"))
	w.srv.Stop()
	w.p = heksherof.New()
	c, err := heksher.NewClient(w.srv.URL, time.Hour, []string{"user", "theme"}, heksher.WithHooks(w.p),
		heksher.WithDegradedStart(heksher.Backoff{Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.TrackContexts(map[string][]string{"user": {heksher.TrackAll}})
	w.p.UseClient(c)
	s := decl(t, heksher.WithClient(c), n, heksher.Int(), []string{"user"}, 50)
	heksherof.WithSettings(s)(w.p)
	_ = c.Start(t.Context()) // degraded: serves defaults and retries
	api := isolated.NewAPI()
	t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	err = api.SetProviderAndWait(t.Context(), w.p)
	if !errors.Is(err, heksherof.ErrNoValues) {
		t.Fatalf("SetProviderAndWait: %v, want ErrNoValues", err)
	}
	of := api.NewClient()
	if of.State() != openfeature.ErrorState {
		t.Fatalf("state %s, want ERROR", of.State())
	}
	// Local default while in error: STATIC.
	d, _ := of.IntValueDetails(t.Context(), n, 0, openfeature.NewTargetlessEvaluationContext(map[string]any{"user": "a"}))
	if d.Value != 50 || d.Reason != openfeature.StaticReason {
		t.Fatalf("local default: %+v", d)
	}
	if err := w.srv.Start(); err != nil {
		t.Fatal(err)
	}
	waitState(t, of, openfeature.ReadyState)
}

// A provider that receives the client's events but was never given to
// the go-sdk queues none of them: nobody would read them, and a full
// channel would hold the hook's worker until its deadline each time.
func TestEventsBeforeInitAreNotQueued(t *testing.T) {
	t.Parallel()
	n := uniq(t, "size")
	w := newWorld(t, func(c *heksher.Client) {
		decl(t, heksher.WithClient(c), n, heksher.Int(), []string{"user"}, 50)
	})
	for i := range 20 {
		must(w.srv.AddRule(n, map[string]string{"user": fmt.Sprint("u", i)}, i))(t)
		if err := w.client.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	// The hook ran for every update: its last event was delivered.
	deadline := time.Now().Add(5 * time.Second)
	for w.client.Status().Attempts < 21 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if q := len(w.p.EventChannel()); q != 0 {
		t.Fatalf("%d events queued for nobody", q)
	}
}
