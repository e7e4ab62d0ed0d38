package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/pluginapi"
)

// pageBackend is a fakeBackend whose snapshot the test shapes.
type pageBackend struct {
	fakeBackend
	shape func(*Snapshot)
}

func (b *pageBackend) Snapshot() Snapshot {
	s := b.fakeBackend.Snapshot()
	if b.shape != nil {
		b.shape(&s)
	}
	return s
}

// Lookup refuses a feature the setting is not configurable by, as the host
// does.
func (b *pageBackend) Lookup(ctx context.Context, setting string, features []pluginapi.Feature) (pluginapi.Value, error) {
	for _, ss := range b.Snapshot().Settings {
		if ss.Name != setting {
			continue
		}
		for _, f := range features {
			if !slices.Contains(ss.ConfigurableFeatures, f.Name) {
				return pluginapi.Value{}, fmt.Errorf("%w: %s is not configurable by %s", pluginapi.ErrBadContext, setting, f.Name)
			}
		}
	}
	return b.fakeBackend.Lookup(ctx, setting, features)
}

func getPage(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// The banner says which state the host is in, and leaves "fresh" as soon
// as an update fails even though values still come from the service.
func TestStatusPage_Banner(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		service ServiceStatus
		want    []string
	}{
		{"fresh", ServiceStatus{Serving: "service", State: StateFresh, LastSuccess: t0},
			[]string{`data-state="fresh"`, "Serving fresh values from the service", `id="serving" class="ok">service`}},
		{"stale", ServiceStatus{Serving: "service", State: StateStale, ConsecutiveFailures: 16, FailingSince: t0,
			LastSuccess: t0.Add(-time.Second), LastError: "connection refused"},
			[]string{`data-state="stale"`, `data-failures="16"`, "Serving stale values since 2026-01-02 03:00:00.000 UTC",
				"16 updates in a row failed", "connection refused", `id="serving" class="warn">service`}},
		{"snapshot", ServiceStatus{Serving: "snapshot", State: StateSnapshot, SnapshotTime: t0, ConsecutiveFailures: 1, FailingSince: t0},
			[]string{`data-state="snapshot"`, "Serving the snapshot saved at 2026-01-02 03:00:00.000 UTC", "1 failed update since"}},
		{"defaults", ServiceStatus{Serving: "defaults", State: StateDefaults, ConsecutiveFailures: 3, FailingSince: t0},
			[]string{`data-state="defaults"`, "Serving defaults", "3 failed updates", `id="serving" class="bad">defaults`}},
		{"starting", ServiceStatus{Serving: "starting", State: StateStarting},
			[]string{`data-state="starting"`, "Waiting for the first update"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &pageBackend{shape: func(s *Snapshot) { s.Service = tc.service }}
			srv := start(t, b, Options{})
			page := getPage(t, srv.URL())
			for _, w := range tc.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
}

// The viewer picks a context with the form (GET parameters): the values
// are looked up for it, each setting with the features it is configurable
// by; a value that depends on a feature nobody gave says so.
func TestStatusPage_PickedContext(t *testing.T) {
	b := &pageBackend{shape: func(s *Snapshot) {
		s.ContextFeatures = []string{"user", "theme"}
		s.Context = map[string]string{"theme": "light"}
		s.Settings[0].ConfigurableFeatures = []string{"user"}
		s.Settings[0].Value, s.Settings[0].Source, s.Settings[0].Missing = nil, "depends on user", []string{"user"}
		s.Settings = append(s.Settings, SettingStatus{Name: "other", Type: "int", Value: json.RawMessage("3"), Source: "server_default"})
	}}
	srv := start(t, b, Options{})
	cell := regexp.MustCompile(`(?s)id="setting-banner">.*?<td class="value">(.*?)</td>`)

	page := getPage(t, srv.URL())
	if m := cell.FindStringSubmatch(page); m == nil || !strings.Contains(m[1], "depends on user") {
		t.Errorf("value cell without a context: %q, want it to say it depends on user", m)
	}
	for _, w := range []string{`<input name="user" value="">`, `<input name="theme" value="" placeholder="default: light">`} {
		if !strings.Contains(page, w) {
			t.Errorf("form lacks %q", w)
		}
	}

	// theme is not a feature of banner: it is left out of its lookup (the
	// backend refuses features a setting is not configurable by).
	page = getPage(t, srv.URL()+"?user=alice&theme=dark&planet=mars")
	m := cell.FindStringSubmatch(page)
	if m == nil || !strings.Contains(m[1], "&#34;winter sale&#34;") {
		t.Errorf("value cell for user=alice: %q, want the rule's value", m)
	}
	for _, w := range []string{`<input name="user" value="alice">`, "user=alice, theme=dark", "rule 7",
		"not context features, left out: planet", `id="setting-other"`} {
		if !strings.Contains(page, w) {
			t.Errorf("page for user=alice lacks %q", w)
		}
	}
}

// Repeated events show once, with their count and the time of the latest.
func TestStatusPage_CollapsedEvents(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	b := &pageBackend{shape: func(s *Snapshot) {
		s.Events = []EventRecord{{Seq: 3, Time: t0, Kind: "update_ok", Summary: "not modified (304) in 1ms", Count: 37,
			LastSeq: 39, LastTime: t0.Add(36 * time.Second)}}
	}}
	srv := start(t, b, Options{})
	page := getPage(t, srv.URL())
	for _, w := range []string{`data-count="37"`, "3–39", "×37</span>, last at 2026-01-02 03:00:36.000 UTC"} {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

// The charts are inline SVG whose buckets carry their figures; the page
// has no script.
func TestStatusPage_Charts(t *testing.T) {
	h := NewHistory(time.Minute, 60)
	now := time.Date(2026, 1, 2, 3, 30, 10, 0, time.UTC)
	h.ObserveUpdate(now.Add(-2*time.Minute), 4*time.Millisecond, false, true)
	h.ObserveUpdate(now.Add(-2*time.Minute), 2*time.Millisecond, false, false)
	h.ObserveUpdate(now, time.Second, true, false)
	h.ObserveDelivery("greeter", now, 50*time.Microsecond, false)
	h.ObserveDelivery("greeter", now, 150*time.Microsecond, true)
	b := &pageBackend{shape: func(s *Snapshot) { s.History, s.Version = h.Snapshot(now), "v1.2.3" }}
	srv := start(t, b, Options{})
	page := getPage(t, srv.URL())
	for _, w := range []string{
		`data-chart="update-latency" data-series="updates" data-kind="latency" data-count="3" data-errors="1"`,
		`data-chart="update-failures"`,
		`<g class="bucket" data-start="2026-01-02T03:28:00Z" data-count="2" data-errors="0" data-mean-ms="3.000" data-max-ms="4.000">`,
		`<g class="bucket" data-start="2026-01-02T03:30:00Z" data-count="1" data-errors="1" data-mean-ms="1000.000"`,
		`class="failed"`,
		`data-chart="delivery-latency-greeter" data-series="greeter" data-kind="latency" data-count="2" data-errors="1"`,
		`data-chart="delivery-errors-greeter"`,
		"03:28:00 UTC: 2 updates, 0 failed, 1 not modified; mean 3ms, max 4ms",
	} {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
	if want := `id="version">heksher-host v1.2.3<`; !strings.Contains(page, want) {
		t.Errorf("page lacks the version footer %q", want)
	}
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Error("the page has a script")
	}
}

// A series keeps only its window: a bucket an hour old is reused, and an
// observation older than its slot's tenant is dropped.
func TestHistory_Window(t *testing.T) {
	h := NewHistory(time.Minute, 3)
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	h.ObserveUpdate(t0, time.Millisecond, false, false)
	h.ObserveUpdate(t0.Add(time.Minute), time.Millisecond, true, false)
	h.ObserveUpdate(t0.Add(3*time.Minute), 3*time.Millisecond, false, false) // reuses t0's slot
	h.ObserveUpdate(t0, time.Millisecond, false, false)                      // late: dropped
	s := h.Snapshot(t0.Add(3 * time.Minute)).Updates
	if len(s.Points) != 2 || !s.Points[0].Start.Equal(t0.Add(time.Minute)) || s.Points[0].Errors != 1 ||
		s.Points[1].Count != 1 || s.Points[1].Mean != 3*time.Millisecond {
		t.Errorf("points = %+v, want the minutes at +1 (1 failed) and +3 (one of 3ms)", s.Points)
	}
	if n, e := s.Totals(); n != 2 || e != 1 {
		t.Errorf("totals = %d, %d; want 2, 1", n, e)
	}
	h.ObserveDelivery("p", t0, time.Millisecond, false)
	h.Forget("p")
	if _, ok := h.Snapshot(t0).Plugin("p"); ok {
		t.Error("a forgotten plugin still has a series")
	}
}

// Concurrent observers and readers (run with -race).
func TestHistory_Concurrent(t *testing.T) {
	h := NewHistory(time.Millisecond, 8)
	done := make(chan struct{})
	for i := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 1000 {
				h.ObserveDelivery([]string{"a", "b"}[i%2], time.Now(), time.Microsecond, i == 0)
				h.ObserveUpdate(time.Now(), time.Microsecond, false, false)
			}
		}()
	}
	for range 50 {
		_ = h.Snapshot(time.Now())
	}
	for range 4 {
		<-done
	}
}

// The page refreshes itself unless paused with auto-refresh=off, which the
// form then keeps, so that the viewer can type a context; the pause is not
// taken for a context feature.
func TestStatusPage_Pause(t *testing.T) {
	b := &pageBackend{shape: func(s *Snapshot) {
		s.ContextFeatures = []string{"user"}
		s.Settings[0].ConfigurableFeatures = []string{"user"}
	}}
	srv := start(t, b, Options{})
	page := getPage(t, srv.URL())
	for _, w := range []string{`<meta http-equiv="refresh" content="2">`, `(<a href="?auto-refresh=off">pause</a>)`} {
		if !strings.Contains(page, w) {
			t.Errorf("refreshing page lacks %q", w)
		}
	}
	page = getPage(t, srv.URL()+"?user=alice&auto-refresh=off")
	for _, w := range []string{`Not refreshing: <a href="?user=alice">`, `<input type="hidden" name="auto-refresh" value="off">`,
		`<input name="user" value="alice">`} {
		if !strings.Contains(page, w) {
			t.Errorf("paused page lacks %q", w)
		}
	}
	for _, w := range []string{`http-equiv="refresh"`, "not context features"} {
		if strings.Contains(page, w) {
			t.Errorf("paused page has %q", w)
		}
	}
}

// Recording a delivery costs a map load and one short lock, off the lookup
// path: 25 ns and no allocation on the 2-core development machine
// (go test -run X -bench History ./host/admin).
func BenchmarkHistory_ObserveDelivery(b *testing.B) {
	h := NewHistory(0, 0)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		h.ObserveDelivery("p", now, time.Microsecond, false)
	}
}
