package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heksher-go/heksher/pluginapi"
)

// volumeHandler is a slog.Handler at DEBUG that counts the bytes of every
// record (message and attributes, its own and the logger's) and remembers
// the records that carry no "plugin" attribute.
type volumeHandler struct {
	mu      *sync.Mutex
	bytes   *int
	records *int
	unnamed *[]string
	attrs   []slog.Attr
}

func newVolumeHandler() *volumeHandler {
	return &volumeHandler{mu: &sync.Mutex{}, bytes: new(int), records: new(int), unnamed: new([]string)}
}

func (h *volumeHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *volumeHandler) Handle(_ context.Context, r slog.Record) error {
	n, named := len(r.Message), false
	count := func(a slog.Attr) bool {
		n += len(a.Key) + len(a.Value.String())
		named = named || a.Key == "plugin"
		return true
	}
	for _, a := range h.attrs {
		count(a)
	}
	r.Attrs(count)
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.bytes += n
	*h.records++
	if !named {
		*h.unnamed = append(*h.unnamed, r.Message)
	}
	return nil
}
func (h *volumeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}
func (h *volumeHandler) WithGroup(string) slog.Handler { return h }

// failingSettings fails every lookup of a name starting with "internal_"
// with an error the host does not classify (the INTERNAL path), quoting the
// name as a careless Settings implementation would.
type failingSettings struct{ *memSettings }

func (s failingSettings) Lookup(ctx context.Context, plugin, setting string, f []pluginapi.Feature) (pluginapi.Value, error) {
	if strings.HasPrefix(setting, "internal_") {
		return pluginapi.Value{}, fmt.Errorf("backend down while reading %q", setting)
	}
	return s.memSettings.Lookup(ctx, plugin, setting, f)
}

// DeclareAtInit refuses every declaration made during init, quoting it
// whole, as a host whose registry refuses it would.
func (s failingSettings) DeclareAtInit(_ context.Context, _ string, d pluginapi.Declaration) error {
	return fmt.Errorf("setting %q refused", d.Name)
}

var _ pluginapi.InitDeclarer = failingSettings{}

// TestHostileGuestLogs: a guest that provokes refusals in a loop, with huge
// names (malformed declarations and 64 KiB names at init; bad contexts, 64
// KiB names the host fails on, undecodable contexts, declarations after
// init and bad log pointers 100 times per event; a 1 MiB error), with the
// host logging at DEBUG, makes the host log only records that name the
// plugin, and no more bytes than its output budget allows (plus the few
// lines the host writes once per call).
func TestHostileGuestLogs(t *testing.T) {
	h := newVolumeHandler()
	r, err := NewRuntime(context.Background(), RuntimeConfig{CacheDir: sharedCacheDir(t), Logger: slog.New(h)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close(context.Background()) }()
	budget := pluginapi.OutputBudget{Rate: 16 << 10, Burst: 32 << 10, MaxLine: 4 << 10}
	start := time.Now()
	p, err := r.Load(context.Background(), PluginConfig{Name: "hostile", Path: guestWasm, Config: []byte(`{"hostile_init":true}`),
		Output: budget, Deadline: time.Minute, InitTimeout: time.Minute, MemoryLimitPages: 1024}, failingSettings{newSettings()})
	if err != nil {
		t.Fatal(err)
	}
	const events = 2
	for range events {
		err := deliver(p, changed("hostile"))
		var ce *CallError
		if !errors.As(err, &ce) || !errors.Is(err, ErrGuestStatus) {
			t.Fatalf("err = %v, want the guest's error status", err)
		}
		if len(ce.Message) > maxErrorMessage {
			t.Fatalf("the guest's error message is kept at %d bytes, over %d", len(ce.Message), maxErrorMessage)
		}
	}
	st := p.Status()
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)

	h.mu.Lock()
	defer h.mu.Unlock()
	if len(*h.unnamed) > 0 {
		t.Errorf("%d records without the plugin's name, e.g. %q", len(*h.unnamed), (*h.unnamed)[0])
	}
	// What the budget lets through, plus the host's own lines about the
	// plugin (load, a summary per interval and at close), each under 8 KiB.
	allowed := int(budget.Burst) + int(elapsed.Seconds()*float64(budget.Rate)) + 16*(8<<10)
	if *h.bytes > allowed {
		t.Errorf("the host logged %d bytes in %d records in %v; the budget allows about %d", *h.bytes, *h.records, elapsed, allowed)
	}
	if st.OutputDroppedLines == 0 {
		t.Errorf("no line dropped: the guest did not flood? status %+v", st)
	}
	t.Logf("%d records, %d bytes logged in %v; %d lines (%d bytes) dropped", *h.records, *h.bytes, elapsed.Round(time.Millisecond), st.OutputDroppedLines, st.OutputDroppedBytes)
}
