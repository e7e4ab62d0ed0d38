package server

import (
	"fmt"
	"net/http"
	"testing"
)

// TestQueryCache_HoldsAFleet: a fleet whose clients each poll a query of
// their own, in turn (what a relay serves), finds every query in the cache
// on its next poll, so that every poll stays a 304 without a render. With
// fewer entries than queries, each new one past the bound cleared the whole
// cache and no poll ever found its answer.
func TestQueryCache_HoldsAFleet(t *testing.T) {
	eng := seededEngine(t)
	const clients = 1000
	queries := make([]string, clients)
	for i := range queries {
		queries[i] = fmt.Sprintf("settings=size_limit&context_filters=user:(u%d,u%d)", i, i+clients)
		if status, body := doRaw(t, eng, http.MethodGet, "/api/v1/query?"+queries[i], ""); status != http.StatusOK {
			t.Fatalf("query %d: %d %s", i, status, body)
		}
	}
	missing := 0
	for _, q := range queries {
		if eng.cache.getRaw(q) == nil {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d clients' queries are no longer cached when their next poll comes", missing, clients)
	}
}
