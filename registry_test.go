package heksher

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

// B52: a setting created before the client and one created after SetAsMain
// both get their values after Reload.
func TestB52_SwitchMainFromTemp(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a", "b")
	f.setData("conf1", "74", [2]string{"5", "a=x"})
	f.setData("conf2", "26", [2]string{"4", "b=y"})
	conf1 := mustSetting(t, "conf1", Int(), []string{"a"}, 74)
	c, _ := newTestClient(t, f.URL(), []string{"a", "b"})
	if err := c.TrackContexts(map[string][]string{"a": {"x", "z"}, "b": {TrackAll}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	conf2 := mustSetting(t, "conf2", Int(), []string{"b"}, 26)
	if err := c.Reload(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, conf1, map[string]string{"a": "x"}); got != 5 {
		t.Fatalf("conf1 = %d", got)
	}
	if got := mustGet(t, conf2, map[string]string{"b": "y"}); got != 4 {
		t.Fatalf("conf2 = %d", got)
	}
}

// switchSetup makes client1 main with conf1 and conf2 tracked, then closes
// it.
func switchSetup(t *testing.T) (*fakeServer, *Client, *Setting[int64], *Setting[int64]) {
	t.Helper()
	freshMain(t)
	f := newFakeServer(t, "a", "b")
	f.setData("conf1", "74")
	f.setData("conf2", "26")
	conf1 := mustSetting(t, "conf1", Int(), []string{"a"}, 74)
	conf2 := mustSetting(t, "conf2", Int(), []string{"b"}, 26)
	c1, _ := newTestClient(t, f.URL(), []string{"a", "b"})
	if err := c1.TrackContexts(map[string][]string{"a": {"x"}, "b": {TrackAll}}); err != nil {
		t.Fatal(err)
	}
	if err := c1.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	return f, c1, conf1, conf2
}

// B53 and B54: a second client takes over from a closed one, adopting its
// settings without declaring them again; different tracking only warns.
func TestB53_B54_SwitchMain(t *testing.T) {
	tests := []struct {
		name      string
		tracking  map[string][]string
		wantWarn  bool
		wantValue map[string]string
	}{
		{name: "same tracking", tracking: map[string][]string{"a": {"x"}, "b": {TrackAll}}},
		{name: "different tracking", tracking: map[string][]string{"a": {"a", "b", "c"}, "b": {"shoobidoobi"}}, wantWarn: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, conf1, conf2 := switchSetup(t)
			c2, lc := newTestClient(t, f.URL(), []string{"a", "b"})
			if err := c2.TrackContexts(tc.tracking); err != nil {
				t.Fatal(err)
			}
			if err := c2.SetAsMain(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if lc.count(slog.LevelWarn, ".+ NOT recommended! .+") != 1 ||
				!lc.has(slog.LevelWarn, `^switching main heksher clients! this is NOT recommended! \(unless this is a test\)$`) {
				t.Fatalf("want the switch warning once:\n%s", lc.dump())
			}
			wantWarns := 0
			if tc.wantWarn {
				wantWarns = 1
			}
			if got := lc.count(slog.LevelWarn, ".+ tracks different context .+"); got != wantWarns {
				t.Fatalf("%d tracking warnings, want %d:\n%s", got, wantWarns, lc.dump())
			}
			if got := c2.Tracked(); !slices.Equal(got, []string{"conf1", "conf2"}) {
				t.Fatalf("tracked after the switch = %v, want both adopted", got)
			}
			if got := f.declaredNames(); !slices.Equal(got, []string{"conf1", "conf2"}) {
				t.Fatalf("declared = %v: adopted settings were declared again", got)
			}
			conf3 := mustSetting(t, "conf3", Int(), []string{"a"}, 3)
			f.setData("conf1", "1", [2]string{"11", "a=a"})
			f.setData("conf2", "2")
			f.setData("conf3", "33")
			if err := c2.Reload(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if got := f.declaredNames(); !slices.Equal(got, []string{"conf1", "conf2", "conf3"}) {
				t.Fatalf("declared = %v", got)
			}
			if got := c2.Tracked(); !slices.Equal(got, []string{"conf1", "conf2", "conf3"}) {
				t.Fatalf("tracked = %v", got)
			}
			if a, b, c := mustGet(t, conf1, map[string]string{"a": "a"}), mustGet(t, conf2, map[string]string{"b": "q"}), mustGet(t, conf3, map[string]string{"a": "x"}); a != 11 || b != 2 || c != 33 {
				t.Fatalf("values = %d %d %d", a, b, c)
			}
			if lc.has(slog.LevelWarn, "multiple clients") {
				t.Fatalf("closed previous client counted as live:\n%s", lc.dump())
			}
		})
	}
}

// countRequests makes f count every request it receives from now on.
func countRequests(f *fakeServer) func() int {
	var mu sync.Mutex
	n := 0
	f.setFault(func(http.ResponseWriter, *http.Request) bool {
		mu.Lock()
		n++
		mu.Unlock()
		return false
	})
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// B55: different context features make the switch fail: the error says
// why, nothing else happens (no request, nothing running), the slot keeps
// the previous client, and closing the failed one is safe.
func TestB55_SwitchMainDifferentContexts(t *testing.T) {
	for _, feats := range [][]string{{"b", "c"}, {"a", "b", "c", "d"}} {
		t.Run(strings.Join(feats, ","), func(t *testing.T) {
			f, c1, _, _ := switchSetup(t)
			requests := countRequests(f)
			c2, lc := newTestClient(t, f.URL(), feats)
			err := c2.SetAsMain(ctxT(t))
			var mse *MainSwitchError
			if !errors.Is(err, ErrMainSwitch) || !errors.As(err, &mse) || !strings.Contains(mse.Reason, "context features differ") {
				t.Fatalf("SetAsMain = %v, want a *MainSwitchError about the context features", err)
			}
			if MainClient() != c1 {
				t.Fatal("the slot changed after a failed switch")
			}
			if n := requests(); n != 0 || c2.Status().Running || len(c2.Tracked()) != 0 {
				t.Fatalf("after a failed switch: %d requests, running %v, tracked %v", n, c2.Status().Running, c2.Tracked())
			}
			if !lc.has(slog.LevelWarn, ".+ NOT recommended! .+") {
				t.Fatalf("the switch warning comes first:\n%s", lc.dump())
			}
			if err := c2.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// B56: a setting created after the main client was closed is queued on it,
// and the next client's switch fails because of that pending declaration;
// the slot keeps the closed client, which still holds the setting.
func TestB56_SwitchMainUnclosed(t *testing.T) {
	f, c1, _, _ := switchSetup(t)
	mustSetting(t, "late", Int(), []string{"a"}, 1)
	if c1.PendingDeclarations() != 1 {
		t.Fatalf("pending on the closed client = %d", c1.PendingDeclarations())
	}
	requests := countRequests(f)
	c2, _ := newTestClient(t, f.URL(), []string{"a", "b"})
	err := c2.SetAsMain(ctxT(t))
	var mse *MainSwitchError
	if !errors.Is(err, ErrMainSwitch) || !errors.As(err, &mse) || !strings.Contains(mse.Reason, "unprocessed declarations") {
		t.Fatalf("SetAsMain = %v, want a *MainSwitchError about pending declarations", err)
	}
	if MainClient() != c1 || c1.PendingDeclarations() != 1 {
		t.Fatalf("after the failed switch: main %p (closed client %p), pending %d", MainClient(), c1, c1.PendingDeclarations())
	}
	if n := requests(); n != 0 || c2.Status().Running {
		t.Fatalf("after a failed switch: %d requests, running %v", n, c2.Status().Running)
	}
}

// A stub in the slot cannot be replaced by a client; a stub replaces
// anything.
func TestRegistry_StubAndClient(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	mustSetting(t, "dropped", Int(), []string{"a"}, 1)
	stub := NewStubClient()
	if err := stub.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if MainClient() != nil {
		t.Fatal("MainClient with a stub main")
	}
	c, _ := newTestClient(t, f.URL(), []string{"a"})
	if err := c.SetAsMain(ctxT(t)); !errors.Is(err, ErrMainSwitch) {
		t.Fatalf("SetAsMain over a stub = %v", err)
	}
	ResetMainForTesting()
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if len(f.declaredNames()) != 0 {
		t.Fatalf("declared %v: settings pending before the stub should be dropped", f.declaredNames())
	}
	if err := stub.SetAsMain(ctxT(t)); err != nil || MainClient() != nil {
		t.Fatalf("stub over a client: %v", err)
	}
}

// B44: the settings created before main are exactly those the service lists.
func TestB44_GetSettingNames(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	mustSetting(t, "only_me", Int(), []string{"a"}, 1)
	c, _ := newTestClient(t, f.URL(), []string{"a"})
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetSettings(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["only_me"].Type != "int" {
		t.Fatalf("settings = %v", got)
	}
}
