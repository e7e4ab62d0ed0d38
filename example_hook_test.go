package heksher_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/hekshertest"
)

// changeLog is a hook that records which settings changed and every update
// failure. It embeds NopHook, so it implements only what it needs. Its
// methods run on the hook's own goroutine, one event at a time.
type changeLog struct {
	heksher.NopHook
	mu    sync.Mutex
	lines []string
}

func (h *changeLog) OnSettingChanged(_ context.Context, e *event.SettingChanged) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, fmt.Sprintf("#%d %s: %d → %d rules", e.Seq, e.Setting, len(e.Old.Rules), len(e.New.Rules)))
}

func (h *changeLog) OnUpdateError(_ context.Context, e *event.UpdateError) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, fmt.Sprintf("#%d update failed (%d in a row)", e.Seq, e.ConsecutiveFailures))
}

func Example_hook() {
	heksher.ResetMainForTesting()
	defer heksher.ResetMainForTesting()
	srv := hekshertest.NewServer(&testing.T{}, hekshertest.WithContextFeatures("user", "theme"),
		hekshertest.WithSettings(hekshertest.Setting{Name: "size_limit", Type: "int", Default: 200,
			ConfigurableFeatures: []string{"user", "theme"},
			Rules:                []hekshertest.Rule{{Conditions: map[string]string{"user": "admin"}, Value: 1000}}}))
	defer srv.Close()

	_, _ = heksher.NewSetting("size_limit", heksher.Int(), []string{"user", "theme"}, 200)
	log := &changeLog{}
	client, _ := heksher.NewClient(srv.URL, time.Hour, []string{"user", "theme"}, heksher.WithHooks(log))
	_ = client.TrackContexts(map[string][]string{"user": {heksher.TrackAll}})
	_ = client.SetAsMain(context.Background())
	srv.EnqueueFault(hekshertest.Fault{Status: 503, Body: "maintenance"}) // the next request fails
	_ = client.Reload(context.Background())
	_ = client.Close() // delivers what is queued to the hooks

	for _, l := range log.lines {
		fmt.Println(l)
	}
	// Output:
	// #2 size_limit: 0 → 1 rules
	// #4 update failed (1 in a row)
}
