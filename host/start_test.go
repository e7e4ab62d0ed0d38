package host

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/pluginapi"
)

// stuckLoader never returns from Load until released, whatever its ctx
// says: a runtime whose start hangs (go-plugin waiting on pipes a
// plugin's child still holds).
type stuckLoader struct{ release chan struct{} }

func (l stuckLoader) Load(context.Context, PluginSpec) (pluginapi.Plugin, error) {
	<-l.release
	return nil, errors.New("released")
}

// Two plugins whose start never ends hold up nothing: the host is ready,
// with the service's values, while they are still starting; a plugin after
// them gets the first update's events; both fail with ErrStartTimeout
// after one start timeout together, not two, and the host shows them
// failed.
func TestStuckPluginsHoldUpNothing(t *testing.T) {
	const startTimeout = 4 * time.Second
	release := make(chan struct{})
	defer close(release)
	loader := &fakeLoader{}
	dir := t.TempDir()
	cfg := testConfig(t)
	cfg.Plugins = []config.Plugin{
		{Name: "stuck1", Kind: "process", Path: writeFake(t, dir, "stuck1", fakeFile{}), StartTimeout: config.Duration(startTimeout)},
		{Name: "stuck2", Kind: "process", Path: writeFake(t, dir, "stuck2", fakeFile{}), StartTimeout: config.Duration(startTimeout)},
		{Name: "good", Kind: "wasm", Path: writeFake(t, dir, "good", fakeFile{Kinds: []string{"setting_changed"}})},
	}
	h, err := New(cfg, WithLogger(discardLogger()), WithLoader("wasm", loader), WithLoader("process", stuckLoader{release}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeHost(t, h) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	began := time.Now()
	started := make(chan error, 1)
	go func() { started <- h.Start(ctx) }()

	deadline := time.Now().Add(time.Minute)
	for !h.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("not ready after a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	states := pluginStates(h)
	if !strings.Contains(states, "stuck1:starting") || !strings.Contains(states, "stuck2:starting") {
		t.Errorf("when ready, plugins are %s: readiness waited for the stuck ones", states)
	}
	if v, err := h.Lookup(ctx, "banner", []pluginapi.Feature{{Name: "user", Value: "alice"}}); err != nil || v.Source != pluginapi.SourceServerDefault {
		t.Errorf("lookup when ready: %+v, %v; want the service's default", v, err)
	}

	// The good plugin gets the first update's change of banner while the
	// stuck ones still start.
	for got := false; !got; {
		if time.Now().After(deadline) {
			t.Fatal("the good plugin got no event in a minute")
		}
		if p := loader.latest("good"); p != nil {
			for _, d := range p.got() {
				if sc, ok := d.Event.(*event.SettingChanged); ok && sc.Setting == "banner" && d.Seq >= 1 {
					got = true
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if states := pluginStates(h); !strings.Contains(states, "stuck1:starting") && !strings.Contains(states, "stuck2:starting") {
		t.Errorf("the good plugin got its first event only after the stuck ones had failed: %s", states)
	}

	if err := <-started; err != nil {
		t.Fatal(err)
	}
	// One start timeout for both, not two: twice the timeout is the bound.
	if took := time.Since(began); took >= 2*startTimeout {
		t.Errorf("Start took %v with two stuck plugins of start timeout %v: loaded one after the other", took, startTimeout)
	}
	for _, p := range h.pluginStatuses() {
		if strings.HasPrefix(p.Name, "stuck") && (p.State != "failed" || !strings.Contains(p.LastError, ErrStartTimeout.Error())) {
			t.Errorf("%s: %+v, want failed at its start timeout", p.Name, p)
		}
	}
	if got := pluginStates(h); !strings.HasPrefix(got, "good:running,") || strings.Count(got, ":failed") != 2 {
		t.Errorf("plugins after Start: %s", got)
	}
}
