package wasm

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// heldRuntime returns a runtime whose first compilation waits until release
// is called and then fails with fail (if not nil), and the digest of the
// module the tests load (the WAT example).
func heldRuntime(t *testing.T, fail error) (r *Runtime, sum [32]byte, release func()) {
	t.Helper()
	r, _ = newTestRuntime(t)
	gate := make(chan struct{})
	var compiles atomic.Int32
	r.beforeCompile = func() error {
		if compiles.Add(1) > 1 {
			return nil
		}
		<-gate
		return fail
	}
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	code, err := os.ReadFile(watPluginWasm)
	if err != nil {
		t.Fatalf("%v (the test modules are built by `make wasm`)", err)
	}
	return r, sha256.Sum256(code), release
}

// inFlight waits until a compilation of sum is in progress with at least
// refs loads holding it, and returns it.
func inFlight(t *testing.T, r *Runtime, sum [32]byte, refs int) *compiled {
	t.Helper()
	for {
		r.mu.Lock()
		var c *compiled
		for _, g := range r.groups {
			if e := g.compiled[sum]; e != nil && e.refs >= refs {
				c = e
			}
		}
		r.mu.Unlock()
		if c != nil {
			return c
		}
		select {
		case <-t.Context().Done():
			t.Fatal("no compilation started")
		default:
		}
	}
}

type loadResult struct {
	p   *Plugin
	err error
}

func loadAsync(ctx context.Context, r *Runtime, name string) <-chan loadResult {
	ch := make(chan loadResult, 1)
	go func() {
		p, err := r.Load(ctx, PluginConfig{Name: name, Path: watPluginWasm}, newSettings())
		ch <- loadResult{p, err}
	}()
	return ch
}

// A compilation does not hold the runtime's lock: while one is held up,
// another module loads and plugins close.
func TestCompilationDoesNotBlockOtherPlugins(t *testing.T) {
	r, sum, release := heldRuntime(t, nil)
	held := loadAsync(context.Background(), r, "held")
	inFlight(t, r, sum, 1)

	other := mustLoad(t, r, PluginConfig{Name: "loop", Path: loopWat}, nil)
	if err := other.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	release()
	res := <-held
	if res.err != nil {
		t.Fatal(res.err)
	}
	if err := deliver(res.p, changed("motd")); err != nil {
		t.Fatal(err)
	}
}

// Loads of the same bytes during one compilation share it, and the module
// is closed with its last user.
func TestConcurrentLoadsCompileOnce(t *testing.T) {
	r, sum, release := heldRuntime(t, nil)
	results := []<-chan loadResult{loadAsync(context.Background(), r, "p0")}
	inFlight(t, r, sum, 1)
	for _, name := range []string{"p1", "p2", "p3"} {
		results = append(results, loadAsync(context.Background(), r, name))
	}
	c := inFlight(t, r, sum, 4)
	release()
	var plugins []*Plugin
	for _, ch := range results {
		res := <-ch
		if res.err != nil {
			t.Fatal(res.err)
		}
		if res.p.c != c {
			t.Fatalf("%s compiled its own module", res.p.Name())
		}
		plugins = append(plugins, res.p)
	}
	for _, p := range plugins {
		if err := deliver(p, changed("motd")); err != nil {
			t.Fatalf("%s: %v", p.Name(), err)
		}
		if err := p.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := plugins[0].g.compiled[sum]; ok || c.refs != 0 {
		t.Fatalf("after the last user closed: refs %d, still shared %v", c.refs, ok)
	}
}

// A load waiting for another's compilation gives up when its context ends;
// the compilation and the first load carry on.
func TestLoadWaitingForCompilationCancelled(t *testing.T) {
	r, sum, release := heldRuntime(t, nil)
	first := loadAsync(context.Background(), r, "first")
	c := inFlight(t, r, sum, 1)
	ctx, cancel := context.WithCancel(context.Background())
	waiting := loadAsync(ctx, r, "waiting")
	inFlight(t, r, sum, 2)
	cancel()
	if res := <-waiting; !errors.Is(res.err, context.Canceled) {
		t.Fatalf("cancelled wait: err = %v", res.err)
	}
	release()
	res := <-first
	if res.err != nil {
		t.Fatal(res.err)
	}
	r.mu.Lock()
	refs := c.refs
	r.mu.Unlock()
	if refs != 1 || res.p.c != c {
		t.Fatalf("after the cancelled wait: refs %d, shared %v", refs, res.p.c == c)
	}
}

// A failed compilation is not shared: a load that waited for it compiles
// again and gets its own answer.
func TestFailedCompilationIsRetriedByWaiters(t *testing.T) {
	boom := errors.New("boom")
	r, sum, release := heldRuntime(t, boom)
	first := loadAsync(context.Background(), r, "first")
	failed := inFlight(t, r, sum, 1)
	second := loadAsync(context.Background(), r, "second")
	inFlight(t, r, sum, 2)
	release()
	if res := <-first; !errors.Is(res.err, boom) || !errors.Is(res.err, ErrInvalidModule) {
		t.Fatalf("the failed compilation's load: err = %v", res.err)
	}
	res := <-second
	if res.err != nil {
		t.Fatalf("the waiting load: %v", res.err)
	}
	if res.p.c == failed {
		t.Fatal("the waiting load was given the failed compilation")
	}
	if err := deliver(res.p, changed("motd")); err != nil {
		t.Fatal(err)
	}
}

// Closing the runtime during a compilation waits for it before closing the
// wazero runtime under it, and the load is refused.
func TestRuntimeCloseDuringCompilation(t *testing.T) {
	r, sum, release := heldRuntime(t, nil)
	held := loadAsync(context.Background(), r, "held")
	inFlight(t, r, sum, 1)
	closed := make(chan error, 1)
	go func() { closed <- r.Close(context.Background()) }()
	for {
		r.mu.Lock()
		c := r.closed
		r.mu.Unlock()
		if c {
			break
		}
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a compilation was in progress", err)
	default:
	}
	release()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if res := <-held; res.err == nil {
		t.Fatal("a load finished on a closed runtime")
	}
	if _, err := r.Load(context.Background(), PluginConfig{Name: "late", Path: watPluginWasm}, newSettings()); !errors.Is(err, ErrClosed) {
		t.Fatalf("load after Close: %v", err)
	}
}
