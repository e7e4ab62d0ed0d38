package heksher

import (
	"errors"
	"log/slog"
	"slices"
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
		{name: "different tracking", tracking: map[string][]string{"a": {"a", "b", "c", "x"}, "b": {"shoobidoobi"}}, wantWarn: true},
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
			if !lc.has(slog.LevelWarn, ".+ NOT recommended! .+") {
				t.Fatalf("no switch warning:\n%s", lc.dump())
			}
			if got := lc.has(slog.LevelWarn, ".+ tracks different context .+"); got != tc.wantWarn {
				t.Fatalf("tracking warning = %v:\n%s", got, lc.dump())
			}
			if got := f.declaredNames(); !slices.Equal(got, []string{"conf1", "conf2"}) {
				t.Fatalf("declared = %v: adopted settings were declared again", got)
			}
			conf3 := mustSetting(t, "conf3", Int(), []string{"a"}, 3)
			f.setData("conf1", "1", [2]string{"11", "a=x"})
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
			if a, b, c := mustGet(t, conf1, map[string]string{"a": "x"}), mustGet(t, conf2, map[string]string{"b": "q"}), mustGet(t, conf3, map[string]string{"a": "x"}); a != 11 || b != 2 || c != 33 {
				t.Fatalf("values = %d %d %d", a, b, c)
			}
			if lc.has(slog.LevelWarn, "multiple clients") {
				t.Fatalf("closed previous client counted as live:\n%s", lc.dump())
			}
		})
	}
}

// B55: different context features make the switch fail; the slot keeps the
// previous client; closing the failed one is safe.
func TestB55_SwitchMainDifferentContexts(t *testing.T) {
	for _, feats := range [][]string{{"b", "c"}, {"a", "b", "c", "d"}} {
		t.Run("", func(t *testing.T) {
			f, c1, _, _ := switchSetup(t)
			c2, _ := newTestClient(t, f.URL(), feats)
			err := c2.SetAsMain(ctxT(t))
			var mse *MainSwitchError
			if !errors.Is(err, ErrMainSwitch) || !errors.As(err, &mse) {
				t.Fatalf("SetAsMain = %v, want a *MainSwitchError", err)
			}
			if MainClient() != c1 {
				t.Fatal("the slot changed after a failed switch")
			}
			if err := c2.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// B56: a setting created after the main client was closed is queued on it,
// and the next client's switch fails.
func TestB56_SwitchMainUnclosed(t *testing.T) {
	f, c1, _, _ := switchSetup(t)
	mustSetting(t, "late", Int(), []string{"a"}, 1)
	if c1.PendingDeclarations() != 1 {
		t.Fatalf("pending on the closed client = %d", c1.PendingDeclarations())
	}
	c2, _ := newTestClient(t, f.URL(), []string{"a", "b"})
	if err := c2.SetAsMain(ctxT(t)); !errors.Is(err, ErrMainSwitch) {
		t.Fatalf("SetAsMain = %v, want ErrMainSwitch", err)
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
