package heksher

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
)

// B29: with a short interval the client picks up changes without Reload.
func TestB29_RegularUpdate(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a", "b", "c")
	f.setData("cache_size", "50")
	s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 50)
	lc, log := newLogCapture()
	c, err := NewClient(f.URL(), 20*time.Millisecond, []string{"a", "b", "c"}, WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.TrackContexts(map[string][]string{"b": {"0"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	f.setData("cache_size", "50", [2]string{"100", "b=0"})
	deadline := time.Now().Add(5 * time.Second)
	for mustGet(t, s, map[string]string{"b": "0", "c": ""}) != 100 {
		if time.Now().After(deadline) {
			t.Fatalf("value not updated in time:\n%s", lc.dump())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// B34: exactly one query during SetAsMain, with the exact parameters.
func TestB34_TrackContextsQuery(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a", "b", "c", "d")
	f.setData("cache_size", "50", [2]string{"100", "b=B"})
	s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 50)
	c, _ := newTestClient(t, f.URL(), []string{"a", "b", "c", "d"})
	if err := c.TrackContexts(map[string][]string{"b": {"B"}, "a": {"a0", "a1"}, "d": {TrackAll}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	qs := f.queryLog()
	if len(qs) != 1 {
		t.Fatalf("queries during SetAsMain = %d, want 1", len(qs))
	}
	q := qs[0]
	if q.Get("settings") != "cache_size" || q.Get("context_filters") != "a:(a0,a1),b:(B),d:*" || q.Get("include_metadata") != "false" || len(q) != 3 {
		t.Fatalf("query = %v", q)
	}
	if got := mustGet(t, s, map[string]string{"b": "B", "c": ""}); got != 100 {
		t.Fatalf("Get = %d", got)
	}
}

// B42: a server default with no rules beats the local default.
func TestB42_NoRulesServerDefault(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a", "b", "c")
	f.setData("cache_size", "100")
	s := mustSetting(t, "cache_size", Int(), []string{"b", "c"}, 50)
	c, _ := newTestClient(t, f.URL(), []string{"a", "b", "c"})
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, map[string]string{"b": "", "c": ""}); got != 100 {
		t.Fatalf("Get = %d, want 100", got)
	}
}

// B58 and B59: one hook call per attempt, OK only after success (a 304
// included, leaving values alone), error only after failure; events are
// numbered in order.
func TestB58_B59_HookPerAttempt(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	f.setData("x", "1")
	s := mustSetting(t, "x", Int(), []string{"a"}, 0)
	h := newRecHook()
	c, _ := newTestClient(t, f.URL(), []string{"a"}, WithHooks(h))
	if err := c.SetAsMain(ctxT(t)); err != nil { // attempt 1: 200
		t.Fatal(err)
	}
	if err := c.Reload(ctxT(t)); err != nil { // attempt 2: 304
		t.Fatal(err)
	}
	if st := c.Status(); st.LastResult != ResultNotModified || st.ETag == "" || st.ConsecutiveFailures != 0 {
		t.Fatalf("status after 304 = %+v", st)
	}
	if got := mustGet(t, s, map[string]string{"a": ""}); got != 1 {
		t.Fatalf("Get after 304 = %d", got)
	}
	f.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/v1/query" {
			http.Error(w, "boom", 500)
			return true
		}
		return false
	})
	if err := c.Reload(ctxT(t)); err == nil { // attempt 3: error
		t.Fatal("Reload succeeded on a 500")
	}
	f.setFault(nil)
	f.setData("x", "2")
	if err := c.Reload(ctxT(t)); err != nil { // attempt 4: 200 with a change
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	got := h.kinds(event.SetOf(event.KindUpdateOK, event.KindUpdateError, event.KindSettingChanged, event.KindClosing))
	want := []event.Kind{event.KindSettingChanged, event.KindUpdateOK, event.KindUpdateOK, event.KindUpdateError,
		event.KindSettingChanged, event.KindUpdateOK, event.KindClosing}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("kinds = %v\nwant    %v", got, want)
	}
	var prev uint64
	for _, e := range h.events() {
		if e.Head().Seq != prev+1 {
			t.Fatalf("seq %d after %d", e.Head().Seq, prev)
		}
		prev = e.Head().Seq
	}
	oks := h.waitKind(t, event.KindUpdateOK, 3)
	if !oks[1].(*event.UpdateOK).NotModified || oks[0].(*event.UpdateOK).NotModified {
		t.Fatalf("NotModified flags wrong: %+v %+v", oks[0], oks[1])
	}
	ue := h.waitKind(t, event.KindUpdateError, 1)[0].(*event.UpdateError)
	var he *HTTPError
	if !errors.As(ue.Err, &he) || he.StatusCode != 500 || ue.ConsecutiveFailures != 1 || ue.LastSuccess.IsZero() {
		t.Fatalf("update error event = %+v", ue)
	}
	changes := h.waitKind(t, event.KindSettingChanged, 2)
	ch := changes[1].(*event.SettingChanged)
	if ch.Setting != "x" || string(ch.Old.Default) != "1" || string(ch.New.Default) != "2" {
		t.Fatalf("change = %+v", ch)
	}
}

// Faults during updates: each leaves the last good values in force, reports
// an error that says what and where to the hook and the caller, and the next
// good answer recovers.
func TestClientUpdate_Faults(t *testing.T) {
	good := func(w http.ResponseWriter, r *http.Request) bool { return false }
	tests := []struct {
		name  string
		fault func(w http.ResponseWriter, r *http.Request) bool
		check func(t *testing.T, err error)
	}{
		{"connection dropped", func(w http.ResponseWriter, r *http.Request) bool {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return true
		}, func(t *testing.T, err error) {
			var re *RequestError
			if !errors.As(err, &re) || !strings.Contains(re.URL, "/api/v1/query") {
				t.Fatalf("err = %v, want *RequestError", err)
			}
		}},
		{"500", func(w http.ResponseWriter, r *http.Request) bool {
			http.Error(w, "Internal Server Error", 500)
			return true
		}, func(t *testing.T, err error) {
			var he *HTTPError
			if !errors.As(err, &he) || he.StatusCode != 500 || !strings.Contains(string(he.Body), "Internal") {
				t.Fatalf("err = %v", err)
			}
		}},
		{"503 html", func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(503)
			w.Write([]byte("<html><body>Service Unavailable</body></html>"))
			return true
		}, func(t *testing.T, err error) {
			var he *HTTPError
			if !errors.As(err, &he) || he.StatusCode != 503 || !strings.Contains(err.Error(), "Service Unavailable") {
				t.Fatalf("err = %v", err)
			}
		}},
		{"body cut half way", func(w http.ResponseWriter, r *http.Request) bool {
			body := `{"settings":{"x":{"default_value":99,"rules":[]}}}`
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.WriteHeader(200)
			w.Write([]byte(body[:len(body)/2]))
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return true
		}, func(t *testing.T, err error) {
			var re *RequestError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), "reading the answer") {
				t.Fatalf("err = %v", err)
			}
		}},
		{"invalid json", func(w http.ResponseWriter, r *http.Request) bool {
			w.Write([]byte(`{"settings":{"x":{"default_value":99,`))
			return true
		}, func(t *testing.T, err error) {
			var de *DecodeError
			if !errors.As(err, &de) || de.What != "query answer" || !strings.Contains(err.Error(), `settings["x"]`) {
				t.Fatalf("err = %v", err)
			}
		}},
		{"wrong shape", func(w http.ResponseWriter, r *http.Request) bool {
			w.Write([]byte(`{"settings":{"x":{"default_value":99,"rules":[{"value":1,"context_features":[["a"]],"rule_id":1}]}}}`))
			return true
		}, func(t *testing.T, err error) {
			var de *DecodeError
			if !errors.As(err, &de) || !strings.Contains(err.Error(), `settings["x"].rules[0].context_features[0]`) {
				t.Fatalf("err = %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			freshMain(t)
			f := newFakeServer(t, "a")
			f.setData("x", "1", [2]string{"10", "a=v"})
			f.setData("y", `"keep"`)
			x := mustSetting(t, "x", Int(), []string{"a"}, 0)
			y := mustSetting(t, "y", Str(), []string{"a"}, "local")
			h := newRecHook()
			c, lc := newTestClient(t, f.URL(), []string{"a"}, WithHooks(h))
			if err := c.TrackContexts(map[string][]string{"a": {"v"}}); err != nil {
				t.Fatal(err)
			}
			if err := c.SetAsMain(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			f.setFault(func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/api/v1/query" {
					return false
				}
				return tc.fault(w, r)
			})
			err := c.Reload(ctxT(t))
			tc.check(t, err)
			ue := h.waitKind(t, event.KindUpdateError, 1)[0].(*event.UpdateError)
			tc.check(t, ue.Err)
			if !lc.has(slog.LevelError, "^error during heksher update$") {
				t.Fatalf("no update error logged:\n%s", lc.dump())
			}
			if got := mustGet(t, x, map[string]string{"a": "v"}); got != 10 {
				t.Fatalf("x = %d, want the last good 10", got)
			}
			if got := mustGet(t, x, map[string]string{"a": "w"}); got != 1 {
				t.Fatalf("x default = %d, want the last good 1", got)
			}
			if got := mustGet(t, y, map[string]string{"a": "v"}); got != "keep" {
				t.Fatalf("y = %q", got)
			}
			if st := c.Status(); st.ConsecutiveFailures != 1 || st.LastResult != ResultError || st.LastError == nil {
				t.Fatalf("status = %+v", st)
			}
			f.setFault(good)
			f.setData("x", "2", [2]string{"20", "a=v"})
			if err := c.Reload(ctxT(t)); err != nil {
				t.Fatal("recovery:", err)
			}
			if got := mustGet(t, x, map[string]string{"a": "v"}); got != 20 {
				t.Fatalf("x after recovery = %d", got)
			}
			if st := c.Status(); st.ConsecutiveFailures != 0 || st.LastResult != ResultOK {
				t.Fatalf("status after recovery = %+v", st)
			}
		})
	}
}

// A rule value of the wrong type is not an update failure (B48, B50): the
// rule is dropped and reported in UpdateOK.Rejected.
func TestClientUpdate_WrongTypedRuleIsNotAFailure(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	f.setData("x", "1", [2]string{`"not an int"`, "a=bad"}, [2]string{"5", "a=good"})
	x := mustSetting(t, "x", Int(), []string{"a"}, 0)
	h := newRecHook()
	c, lc := newTestClient(t, f.URL(), []string{"a"}, WithHooks(h))
	if err := c.TrackContexts(map[string][]string{"a": {TrackAll}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, x, map[string]string{"a": "good"}); got != 5 {
		t.Fatalf("good = %d", got)
	}
	if got := mustGet(t, x, map[string]string{"a": "bad"}); got != 1 {
		t.Fatalf("bad = %d, want the server default", got)
	}
	if !lc.has(slog.LevelWarn, ".+ rejected .+") {
		t.Fatalf("no rejection warning:\n%s", lc.dump())
	}
	ok := h.waitKind(t, event.KindUpdateOK, 1)[0].(*event.UpdateOK)
	if len(ok.Rejected) != 1 || ok.Rejected[0].Setting != "x" || ok.Rejected[0].RuleID != 1 || ok.Rejected[0].Reason == "" {
		t.Fatalf("rejected = %+v", ok.Rejected)
	}
	if len(h.kinds(event.SetOf(event.KindUpdateError))) != 0 {
		t.Fatal("an update error was reported")
	}
}

// B60 (Q-ALIAS-KEY): a key the client does not track is skipped with a
// warning naming it, wherever it stands in the answer, and the rest applies:
// the update is a success.
func TestB60_UnknownKeySkipped(t *testing.T) {
	tests := []struct{ name, body string }{
		{"unknown first", `{"settings":{"canonical_name":{"default_value":5,"rules":[]},"x":{"default_value":7,"rules":[]}}}`},
		{"unknown last", `{"settings":{"x":{"default_value":7,"rules":[]},"canonical_name":{"default_value":5,"rules":[]}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			freshMain(t)
			f := newFakeServer(t, "a")
			x := mustSetting(t, "x", Int(), []string{"a"}, 0)
			c, lc := newTestClient(t, f.URL(), []string{"a"})
			mustNil(t, c.TrackContexts(map[string][]string{"a": {TrackAll}}))
			f.setFault(func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/api/v1/query" {
					return false
				}
				w.Write([]byte(tc.body))
				return true
			})
			if err := c.SetAsMain(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if got := mustGet(t, x, map[string]string{"a": ""}); got != 7 {
				t.Fatalf("x = %d", got)
			}
			w := lc.attrs(slog.LevelWarn, "does not track")
			if len(w) != 1 || w[0]["setting"] != "canonical_name" || lc.countAtLeast(slog.LevelWarn) != 1 {
				t.Fatalf("want one warning naming canonical_name:\n%s", lc.dump())
			}
			if st := c.Status(); st.LastResult != ResultOK {
				t.Fatalf("status = %+v, want a successful update", st)
			}
		})
	}
}

// B59: a 304 leaves every value as it was, even if the service's data
// changed meanwhile, and counts as a success: UpdateOK (NotModified, the
// stored ETag), no SettingChanged, no validator run, no error.
func TestB59_NotModifiedLeavesValues(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	f.setData("x", "1", [2]string{"10", "a=v"})
	x := mustSetting(t, "x", Int(), []string{"a"}, 0)
	var validated atomic.Int32
	x.AddValidator(func(v int64, _ *QueriedRule, _ *Setting[int64]) (int64, error) {
		validated.Add(1)
		return v, nil
	})
	h := newRecHook()
	c, lc := newTestClient(t, f.URL(), []string{"a"}, WithHooks(h))
	mustNil(t, c.TrackContexts(map[string][]string{"a": {TrackAll}}))
	mustNil(t, c.SetAsMain(ctxT(t)))
	tag := c.Status().ETag
	if tag == "" || validated.Load() != 2 {
		t.Fatalf("after the first update: ETag %q, %d validator calls", tag, validated.Load())
	}
	f.setData("x", "2", [2]string{"20", "a=v"})
	var sentTag string
	f.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/api/v1/query" {
			return false
		}
		sentTag = r.Header.Get("If-None-Match")
		w.WriteHeader(http.StatusNotModified)
		return true
	})
	mustNil(t, c.Reload(ctxT(t)))
	if sentTag != tag {
		t.Fatalf("If-None-Match = %q, want the stored %q", sentTag, tag)
	}
	if a, d := mustGet(t, x, map[string]string{"a": "v"}), mustGet(t, x, map[string]string{"a": "w"}); a != 10 || d != 1 {
		t.Fatalf("values after a 304 = %d, %d, want 10, 1", a, d)
	}
	if n := validated.Load(); n != 2 {
		t.Fatalf("validators ran %d times in all, want 2 (none on the 304)", n)
	}
	if st := c.Status(); st.LastResult != ResultNotModified || st.ETag != tag || st.ConsecutiveFailures != 0 || st.LastError != nil {
		t.Fatalf("status after 304 = %+v", st)
	}
	if !lc.has(slog.LevelDebug, "^heksher reload not necessary$") || lc.countAtLeast(slog.LevelWarn) != 0 {
		t.Fatalf("logs:\n%s", lc.dump())
	}
	mustNil(t, c.Close())
	got := h.kinds(event.SetOf(event.KindUpdateOK, event.KindUpdateError, event.KindSettingChanged))
	want := []event.Kind{event.KindSettingChanged, event.KindUpdateOK, event.KindUpdateOK}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("kinds = %v, want %v", got, want)
	}
	oks := h.waitKind(t, event.KindUpdateOK, 2)
	if ok := oks[1].(*event.UpdateOK); !ok.NotModified || ok.ETag != tag || len(ok.Changed) != 0 {
		t.Fatalf("UpdateOK of the 304 = %+v", ok)
	}
}

// B61: holding the modification lock delays the application of an update
// until it is released; the fetch and the conversion happen meanwhile.
func TestB61_ModificationLock(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	f.setData("x", "1")
	x := mustSetting(t, "x", Int(), []string{"a"}, 0)
	converted := make(chan struct{})
	signal := sync.OnceFunc(func() { close(converted) })
	x.AddValidator(func(v int64, _ *QueriedRule, _ *Setting[int64]) (int64, error) {
		if v == 2 {
			signal() // the new answer is converted: applying it is next
		}
		return v, nil
	})
	c, lc := newTestClient(t, f.URL(), []string{"a"})
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	f.setData("x", "2")
	lock := c.ModificationLock()
	lock.Lock()
	locked := true
	defer func() {
		if locked {
			lock.Unlock()
		}
	}()
	done := make(chan error, 1)
	go func() { done <- c.Reload(ctxT(t)) }()
	select {
	case <-converted:
	case <-time.After(10 * time.Second):
		t.Fatal("the update was not fetched and converted while the lock was held")
	}
	// After the conversion the update takes nothing but the modification
	// lock; wait until it is blocked there.
	waitUntil(t, "the update to wait for the modification lock", func() bool {
		return goroutineBlockedInLock("heksher.(*Client).applyBody")
	})
	if got := mustGet(t, x, map[string]string{"a": ""}); got != 1 {
		t.Fatalf("value changed under the lock: %d", got)
	}
	select {
	case err := <-done:
		t.Fatalf("Reload returned under the lock: %v", err)
	default:
	}
	if lc.count(slog.LevelInfo, "^heksher reload done$") != 1 { // SetAsMain's only
		t.Fatalf("the second update was applied under the lock:\n%s", lc.dump())
	}
	locked = false
	lock.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, x, map[string]string{"a": ""}); got != 2 {
		t.Fatalf("after release = %d", got)
	}
}

// goroutineBlockedInLock reports whether a goroutine whose stack has fn is
// blocked acquiring a sync.Mutex. It reads the wait reason runtime.Stack
// prints ("goroutine 7 [sync.Mutex.Lock]:"), which lets a test wait for a
// goroutine to be parked on a lock rather than sleep and hope.
func goroutineBlockedInLock(fn string) bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		head, _, _ := strings.Cut(g, "\n")
		if strings.Contains(head, "[sync.Mutex.Lock") && strings.Contains(g, fn) {
			return true
		}
	}
	return false
}

// B62: a server default that fails conversion keeps the previous one.
func TestB62_RejectedServerDefaultKeepsPrevious(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	f.setData("x", "100")
	x := mustSetting(t, "x", Int(), []string{"a"}, 50)
	c, lc := newTestClient(t, f.URL(), []string{"a"})
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	f.setData("x", `"oops"`)
	if err := c.Reload(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, x, map[string]string{"a": ""}); got != 100 {
		t.Fatalf("x = %d, want the previous server default 100", got)
	}
	if !lc.has(slog.LevelWarn, "^setting default value discarded default due to conversion error$") {
		t.Fatalf("no warning:\n%s", lc.dump())
	}
}

// B63: nothing tracked sends context_filters= and serves only defaults.
func TestB63_NothingTracked(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	x := mustSetting(t, "x", Int(), []string{"a"}, 50)
	f.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/api/v1/query" {
			return false
		}
		// The real server returns no conditioned rule for an empty filter.
		if v, ok := r.URL.Query()["context_filters"]; !ok || len(v) != 1 || v[0] != "" {
			http.Error(w, "context_filters missing", 400)
			return true
		}
		w.Write([]byte(`{"settings":{"x":{"default_value":60,"rules":[]}}}`))
		return true
	})
	c, _ := newTestClient(t, f.URL(), []string{"a"})
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, x, map[string]string{"a": "anything"}); got != 60 {
		t.Fatalf("x = %d", got)
	}
	if !x.retrieved() {
		t.Fatal("the answer was not applied")
	}
}

// Q-ETAG-EARLY: an answer that fails to apply does not store its ETag, so
// the next attempt gets the same data again instead of a 304.
func TestClientUpdate_ETagStoredOnlyAfterApply(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	f.setData("x", "1")
	x := mustSetting(t, "x", Int(), []string{"a"}, 0)
	explode := false
	var mu = &f.mu
	x.AddValidator(func(v int64, _ *QueriedRule, _ *Setting[int64]) (int64, error) {
		mu.Lock()
		e := explode
		mu.Unlock()
		if e {
			panic("validator bug")
		}
		return v, nil
	})
	c, _ := newTestClient(t, f.URL(), []string{"a"})
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	firstTag := c.Status().ETag
	f.setData("x", "2")
	mu.Lock()
	explode = true
	mu.Unlock()
	if err := c.Reload(ctxT(t)); err == nil || !strings.Contains(err.Error(), "validator bug") {
		t.Fatalf("Reload = %v, want the panic as an error", err)
	}
	if got := c.Status().ETag; got != firstTag {
		t.Fatalf("ETag = %s, want the old %s", got, firstTag)
	}
	mu.Lock()
	explode = false
	mu.Unlock()
	if err := c.Reload(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, x, map[string]string{"a": ""}); got != 2 {
		t.Fatalf("x = %d after the retry", got)
	}
	f.mu.Lock()
	last := f.queryHeaders[len(f.queryHeaders)-1].Get("If-None-Match")
	f.mu.Unlock()
	if last != firstTag {
		t.Fatalf("If-None-Match = %q, want %q", last, firstTag)
	}
}

// Q-RELOAD-RACE: a Reload during an attempt in flight waits for a fresh
// attempt that started after the call.
func TestReload_WaitsForFreshAttempt(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	f.setData("x", "1")
	x := mustSetting(t, "x", Int(), []string{"a"}, 0)
	c, _ := newTestClient(t, f.URL(), []string{"a"})
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	first := true
	f.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/v1/query" && first {
			first = false
			// The answer as the data stands when the attempt starts (x=1),
			// sent only once released: the attempt in flight is stale.
			stale := httptest.NewRecorder()
			f.serve(stale, r)
			close(entered)
			<-release
			maps.Copy(w.Header(), stale.Header())
			w.WriteHeader(stale.Code)
			w.Write(stale.Body.Bytes())
			return true
		}
		return false
	})
	bg := make(chan error, 1)
	go func() { bg <- c.Reload(ctxT(t)) }() // starts an attempt that blocks
	<-entered
	f.setData("x", "2") // changed after the in-flight attempt started
	done := make(chan error, 1)
	go func() { done <- c.Reload(ctxT(t)) }()
	// The second Reload has chosen its target attempt once its update
	// request is pending (the loop is busy with the stale attempt).
	waitUntil(t, "the second Reload's request", func() bool { return len(c.trigger) == 1 })
	close(release)
	if err := <-bg; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, x, map[string]string{"a": ""}); got != 2 {
		t.Fatalf("x = %d: Reload returned after a stale attempt", got)
	}
}

// Events: one SettingChanged per setting whose rules or default really
// changed, in the answer's order, before UpdateOK which lists them.
func TestClientUpdate_SettingChangedOnlyOnRealChange(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	f.setData("p", "1")
	f.setData("q", "1", [2]string{"3", "a=v"})
	mustSetting(t, "p", Int(), []string{"a"}, 0)
	mustSetting(t, "q", Int(), []string{"a"}, 0)
	h := newRecHook()
	c, _ := newTestClient(t, f.URL(), []string{"a"}, WithHooks(h))
	if err := c.TrackContexts(map[string][]string{"a": {"v"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAsMain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	f.setData("q", "1", [2]string{"4", "a=v"})
	if err := c.Reload(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	oks := h.waitKind(t, event.KindUpdateOK, 2)
	if got := oks[0].(*event.UpdateOK).Changed; strings.Join(got, ",") != "p,q" {
		t.Fatalf("first changed = %v", got)
	}
	if got := oks[1].(*event.UpdateOK).Changed; strings.Join(got, ",") != "q" {
		t.Fatalf("second changed = %v, want only q", got)
	}
	chs := h.waitKind(t, event.KindSettingChanged, 3)
	last := chs[2].(*event.SettingChanged)
	if last.Setting != "q" || string(last.Old.Rules[0].Value) != "3" || string(last.New.Rules[0].Value) != "4" ||
		last.New.Rules[0].Conditions[0] != (event.Condition{Feature: "a", Value: "v"}) {
		t.Fatalf("change = %+v", last)
	}
	if last.Seq >= oks[1].Head().Seq {
		t.Fatal("SettingChanged after its UpdateOK")
	}
}

// Q-ALIAS-KEY, optional part: an outdated answer naming the canonical name
// lets the client apply the answer's entry for it to the setting declared
// under its old name.
func TestClientUpdate_CanonicalNameFromOutdated(t *testing.T) {
	freshMain(t)
	f := newFakeServer(t, "a")
	f.setDeclare("old_name", 200, `{"outcome":"outdated","latest_version":"2.0","differences":[{"level":"minor","attribute":"name","latest_value":"new_name"}]}`)
	s := mustSetting(t, "old_name", Int(), []string{"a"}, 1)
	f.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/api/v1/query" {
			return false
		}
		if r.URL.Query().Get("settings") != "old_name" {
			http.Error(w, "unexpected settings", 400)
			return true
		}
		w.Write([]byte(`{"settings":{"new_name":{"default_value":42,"rules":[]}}}`))
		return true
	})
	c, lc := newTestClient(t, f.URL(), []string{"a"})
	mustNil(t, c.SetAsMain(ctxT(t)))
	if got := mustGet(t, s, map[string]string{"a": ""}); got != 42 {
		t.Fatalf("Get = %d, want 42 from the canonical entry", got)
	}
	if lc.has(slog.LevelWarn, "does not track") {
		t.Fatalf("canonical key skipped:\n%s", lc.dump())
	}
}
