package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heksher-go/heksher/event"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// receiver is a webhook endpoint on loopback that records what it gets and
// can be told to fail.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []Payload
	auth []string
	fail bool
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		var p Payload
		if err := json.NewDecoder(req.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.got = append(r.got, p)
		r.auth = append(r.auth, req.Header.Get("Authorization"))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) statuses() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []string
	for _, p := range r.got {
		s = append(s, p.Status)
	}
	return strings.Join(s, ",")
}

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func fail(n int, lastOK time.Time, at time.Duration) *event.UpdateError {
	return &event.UpdateError{Header: event.Header{Time: t0.Add(at)}, Err: errors.New("connection refused"),
		ConsecutiveFailures: n, LastSuccess: lastOK}
}

func ok(at time.Duration) *event.UpdateOK {
	return &event.UpdateOK{Header: event.Header{Time: t0.Add(at)}}
}

// changed is a change of setting; retrieved false makes it a start-up one.
func changed(setting string, retrieved bool) *event.SettingChanged {
	return &event.SettingChanged{Header: event.Header{Time: t0}, Setting: setting,
		Old: event.RuleSet{Retrieved: retrieved}, New: event.RuleSet{Retrieved: true, Rules: []event.Rule{{ID: 1, Value: []byte("1")}}}}
}

func TestAlerter(t *testing.T) {
	type step struct {
		e    event.Event
		want string // statuses received so far
	}
	cases := []struct {
		name  string
		cfg   string
		steps []step
	}{
		{"count trigger then all-clear", `{"url": "%s", "failures": 3}`, []step{
			{fail(1, t0, time.Second), ""}, {fail(2, t0, 2*time.Second), ""},
			{fail(3, t0, 3*time.Second), "alert"}, {fail(4, t0, 4*time.Second), "alert"},
			{ok(5 * time.Second), "alert,all_clear"}, {ok(6 * time.Second), "alert,all_clear"},
			{fail(1, t0, 7*time.Second), "alert,all_clear"},
		}},
		{"staleness trigger", `{"url": "%s", "failures": -1, "staleness": "1m"}`, []step{
			{fail(1, t0, 30*time.Second), ""}, {fail(9, t0, 59*time.Second), ""},
			{fail(10, t0, 61*time.Second), "alert"}, {ok(70 * time.Second), "alert,all_clear"},
		}},
		{"either trigger, staleness first", `{"url": "%s", "failures": 100, "staleness": "10s"}`, []step{
			{fail(1, t0, 11*time.Second), "alert"},
		}},
		{"no success ever: count only", `{"url": "%s", "failures": 2, "staleness": "1s"}`, []step{
			{fail(1, time.Time{}, time.Hour), ""}, {fail(2, time.Time{}, 2*time.Hour), "alert"},
		}},
		{"success without alert sends nothing", `{"url": "%s"}`, []step{{ok(0), ""}}},
		{"a watched setting's change, never its start-up values", `{"url": "%s", "watch": ["a"]}`, []step{
			{changed("a", false), ""}, {changed("a", true), "changed"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t)
			a, err := newAlerter([]byte(strings.Replace(tc.cfg, "%s", r.URL, 1)))
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range tc.steps {
				switch e := st.e.(type) {
				case *event.UpdateError:
					err = a.onError(context.Background(), e)
				case *event.UpdateOK:
					err = a.onOK(context.Background(), e)
				case *event.SettingChanged:
					err = a.onChanged(context.Background(), e)
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if got := r.statuses(); got != st.want {
					t.Fatalf("step %d: received %q, want %q", i, got, st.want)
				}
			}
		})
	}
}

func TestAlerterPayloadAndRetry(t *testing.T) {
	r := newReceiver(t)
	a, err := newAlerter([]byte(`{"url": "` + r.URL + `", "failures": 1, "headers": {"Authorization": "Bearer x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	r.fail = true
	if err := a.onError(context.Background(), fail(1, t0, 90*time.Second)); err == nil {
		t.Fatal("a failed post must be reported")
	}
	r.mu.Lock()
	r.fail = false
	r.mu.Unlock()
	// The alert is retried with the next event rather than lost.
	if err := a.onError(context.Background(), fail(2, t0, 100*time.Second)); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) != 1 {
		t.Fatalf("got %d posts", len(r.got))
	}
	p := r.got[0]
	if p.Status != "alert" || p.ConsecutiveFailures != 1 || p.StaleFor != "1m30s" || p.Error != "connection refused" ||
		!strings.Contains(p.Text, "1 consecutive failures") || r.auth[0] != "Bearer x" {
		t.Errorf("payload %+v auth %q", p, r.auth[0])
	}
}

func TestAlerterConfig(t *testing.T) {
	cases := []struct{ name, cfg, want string }{
		{"no url", `{}`, "url"},
		{"bad url", `{"url": "ftp://x"}`, "url"},
		{"unknown field", `{"url": "http://x", "treshold": 3}`, "unknown field"},
		{"bad staleness", `{"url": "http://x", "staleness": "soon"}`, "staleness"},
		{"nothing triggers", `{"url": "http://x", "failures": -1}`, "nothing would ever alert"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newAlerter([]byte(tc.cfg))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error about %s", err, tc.want)
			}
		})
	}
}
