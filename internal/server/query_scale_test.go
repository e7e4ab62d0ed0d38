package server

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestValidSettingListMatchesPattern checks the hand-written validation of
// the settings list against the reference's pattern, on every string of up
// to 4 characters over an alphabet of valid and invalid bytes and on
// random longer ones.
func TestValidSettingListMatchesPattern(t *testing.T) {
	const alphabet = "a.,_Z9-\n %"
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		if got, want := validSettingList(prefix), patSettingList.match(prefix); got != want {
			t.Fatalf("validSettingList(%q) = %v, pattern says %v", prefix, got, want)
		}
		if n == 0 {
			return
		}
		for i := range len(alphabet) {
			gen(prefix+alphabet[i:i+1], n-1)
		}
	}
	gen("", 4)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			const pick = "ab.,_,,Z9-\xff"
			b[i] = pick[rng.IntN(len(pick))]
		}
		if got, want := validSettingList(string(b)), patSettingList.match(string(b)); got != want {
			t.Fatalf("validSettingList(%q) = %v, pattern says %v", b, got, want)
		}
	}
}

// TestQueryByRawStringFollowsChanges polls with the very same query string
// (answered from the cache by its raw form) and checks that a change, an
// outage and a bad query still get their own answers.
func TestQueryByRawStringFollowsChanges(t *testing.T) {
	eng, _ := scaleEngine(t, 3)
	h := eng.Handler()
	const target = "/api/v1/query?settings=setting_000001%2Csetting_000000&context_filters=user:*,theme:*"
	get := func(etag string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	first := get("")
	tag := first.Header().Get("ETag")
	if first.Code != 200 || tag == "" {
		t.Fatalf("first poll: %d %q", first.Code, tag)
	}
	for range 3 {
		if w := get(tag); w.Code != 304 || w.Header().Get("ETag") != tag {
			t.Fatalf("repeated poll: %d %q, want 304 %q", w.Code, w.Header().Get("ETag"), tag)
		}
	}
	if _, err := eng.Call(context.Background(), "POST", "/api/v1/rules", map[string]any{
		"setting": "setting_000001", "value": 7, "feature_values": map[string]any{"user": "zed"},
	}); err != nil {
		t.Fatal(err)
	}
	after := get(tag)
	if after.Code != 200 || after.Header().Get("ETag") == tag {
		t.Fatalf("poll after a change: %d %q, want 200 with a new ETag", after.Code, after.Header().Get("ETag"))
	}
	eng.SetDatabaseDown(true)
	if w := get(after.Header().Get("ETag")); w.Code != 500 {
		t.Fatalf("poll while the database is down: %d, want 500", w.Code)
	}
	eng.SetDatabaseDown(false)
	for _, bad := range []string{"settings=setting_000001,,setting_000000", "settings=a%0A", "context_filters=user:(x;y)"} {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/query?"+bad, nil)
		for range 2 {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 422 {
				t.Fatalf("%s: %d, want 422", bad, w.Code)
			}
		}
	}
}
