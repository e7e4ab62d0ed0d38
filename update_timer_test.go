package heksher

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heksher-go/heksher/internal/wire"
)

// memTransport serves requests in memory with a fake server's handler, so
// the client can run inside a synctest bubble; it records when each query
// arrived (on the bubble's fake clock).
type memTransport struct {
	f       *fakeServer
	mu      sync.Mutex
	queries []time.Time
}

func (m *memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/api/v1/query" {
		m.mu.Lock()
		m.queries = append(m.queries, time.Now())
		m.mu.Unlock()
	}
	rec := httptest.NewRecorder()
	m.f.serve(rec, r)
	return rec.Result(), nil
}

func (m *memTransport) times() []time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]time.Time(nil), m.queries...)
}

func newMemFake(t *testing.T) *fakeServer {
	return &fakeServer{t: t, features: []string{"a"}, declare: map[string]fakeAnswer{}, data: map[string]wire.QuerySetting{}, health: 200}
}

// B57: a Reload resets the interval timer: the next periodic update comes
// one interval after the Reload's attempt, not at the original time.
func TestB57_ReloadResetsTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		freshMain(t)
		f := newMemFake(t)
		f.data["x"] = wire.QuerySetting{Name: "x", DefaultValue: json.RawMessage("1"), Rules: []wire.QueryRule{}}
		mt := &memTransport{f: f}
		mustSetting(t, "x", Int(), []string{"a"}, 0)
		c, err := NewClient("http://heksher.invalid", 10*time.Second, []string{"a"}, WithHTTPClient(&http.Client{Transport: mt}))
		mustNil(t, err)
		defer c.Close()
		ctx := context.Background()
		mustNil(t, c.SetAsMain(ctx)) // attempt 1 at t0
		t0 := mt.times()[0]
		time.Sleep(6 * time.Second)
		mustNil(t, c.Reload(ctx)) // attempt 2 at t0+6s
		time.Sleep(9 * time.Second)
		synctest.Wait()
		if n := len(mt.times()); n != 2 {
			t.Fatalf("%d queries by t0+15s: the timer was not reset", n)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		got := mt.times()
		if len(got) != 3 || got[1].Sub(t0) != 6*time.Second || got[2].Sub(got[1]) != 10*time.Second {
			t.Fatalf("query times = %v after t0", deltas(t0, got))
		}
	})
}

// The periodic loop waits one interval between the end of one attempt and
// the start of the next, and nothing more.
func TestClientUpdate_Interval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		freshMain(t)
		f := newMemFake(t)
		mt := &memTransport{f: f}
		c, err := NewClient("http://heksher.invalid", 3*time.Second, []string{"a"}, WithHTTPClient(&http.Client{Transport: mt}))
		mustNil(t, err)
		defer c.Close()
		mustNil(t, c.SetAsMain(context.Background()))
		t0 := mt.times()[0]
		time.Sleep(10 * time.Second)
		synctest.Wait()
		got := mt.times()
		if len(got) != 4 || got[3].Sub(t0) != 9*time.Second {
			t.Fatalf("query times = %v after t0", deltas(t0, got))
		}
	})
}

func deltas(t0 time.Time, ts []time.Time) []time.Duration {
	var out []time.Duration
	for _, t := range ts {
		out = append(out, t.Sub(t0))
	}
	return out
}

// With a degraded start, failed updates are retried sooner than the
// interval, waiting as the backoff says (doubling, capped), and the interval
// applies again after a success.
func TestDegradedStart_UpdateBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		freshMain(t)
		f := newMemFake(t)
		var failing atomic.Bool
		failing.Store(true)
		f.fault = func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/api/v1/query" && failing.Load() {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return true
			}
			return false
		}
		mt := &memTransport{f: f}
		c, err := NewClient("http://heksher.invalid", 10*time.Second, []string{"a"}, WithHTTPClient(&http.Client{Transport: mt}),
			WithDegradedStart(Backoff{Initial: time.Second, Max: 4 * time.Second, Jitter: -1}))
		mustNil(t, err)
		defer c.Close()
		mustNil(t, c.SetAsMain(context.Background()))
		t0 := mt.times()[0]
		time.Sleep(12 * time.Second)
		synctest.Wait()
		got := deltas(t0, mt.times())
		want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second, 11 * time.Second}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("attempts at %v, want %v", got, want)
		}
		failing.Store(false)
		time.Sleep(4 * time.Second) // attempt at 15s succeeds
		synctest.Wait()
		time.Sleep(8 * time.Second) // no attempt before 25s
		synctest.Wait()
		if n := len(mt.times()); n != 6 {
			t.Fatalf("%d attempts by 24s, want 6: %v", n, deltas(t0, mt.times()))
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := deltas(t0, mt.times()); len(got) != 7 || got[6] != 25*time.Second {
			t.Fatalf("attempts at %v", got)
		}
	})
}

// B29 on the fake clock: with a 20ms interval a change on the service is
// served one interval after the previous attempt, with no Reload, and not
// before that attempt ran.
func TestB29_RegularUpdateWithinOneInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		freshMain(t)
		f := newMemFake(t)
		f.setData("cache_size", "50")
		mt := &memTransport{f: f}
		s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 50)
		c, err := NewClient("http://heksher.invalid", 20*time.Millisecond, []string{"a"}, WithHTTPClient(&http.Client{Transport: mt}))
		mustNil(t, err)
		defer c.Close()
		mustNil(t, c.TrackContexts(map[string][]string{"b": {"0"}}))
		mustNil(t, c.SetAsMain(context.Background()))
		t0 := mt.times()[0]
		f.setData("cache_size", "50", [2]string{"100", "b=0"})
		at := map[string]string{"b": "0", "c": ""}
		time.Sleep(19 * time.Millisecond)
		synctest.Wait()
		if got := mustGet(t, s, at); got != 50 {
			t.Fatalf("Get = %d before the next periodic attempt, want 50", got)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := mustGet(t, s, at); got != 100 {
			t.Fatalf("Get = %d one interval later, want 100", got)
		}
		if got := deltas(t0, mt.times()); len(got) != 2 || got[1] != 20*time.Millisecond {
			t.Fatalf("query times = %v after t0, want [0 20ms]", got)
		}
	})
}

// A fleet of clients restarted after the same outage must not retry in
// lock-step: with the default backoff, twenty clients failing their first
// update at the same instant retry at different times, each within the
// jitter of the ceiling (never later than it).
func TestDegradedStart_RetriesAreJittered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		freshMain(t)
		f := newMemFake(t)
		f.fault = func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/api/v1/query" {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return true
			}
			return false
		}
		const n = 20
		var mts []*memTransport
		for range n {
			mt := &memTransport{f: f}
			mts = append(mts, mt)
			c, err := NewClient("http://heksher.invalid", time.Hour, []string{"a"}, WithHTTPClient(&http.Client{Transport: mt}),
				WithLogger(slog.New(slog.DiscardHandler)), WithDegradedStart(Backoff{Initial: 10 * time.Second, Max: time.Minute}))
			mustNil(t, err)
			defer c.Close()
			mustNil(t, c.Start(context.Background()))
		}
		time.Sleep(11 * time.Second)
		synctest.Wait()
		seen := map[time.Duration]bool{}
		for i, mt := range mts {
			ts := mt.times()
			if len(ts) != 2 {
				t.Fatalf("client %d: %d attempts by 11s, want 2", i, len(ts))
			}
			d := ts[1].Sub(ts[0])
			if d > 10*time.Second || d < 8*time.Second {
				t.Fatalf("client %d retried after %v, want within 20%% below the 10s ceiling", i, d)
			}
			seen[d] = true
		}
		if len(seen) < n/2 {
			t.Fatalf("%d clients retried at only %d distinct delays: lock-step", n, len(seen))
		}
	})
}
