package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentChanges declares settings, adds, changes and deletes rules
// and queries from many goroutines over HTTP, then checks the state is
// consistent: every acknowledged rule exists once, ids are unique and
// increasing, and every query answer was well-formed.
func TestConcurrentChanges(t *testing.T) {
	eng, srv := startEngine(t, Options{ContextFeatures: []string{"user", "theme"}})
	client := srv.Client()
	const workers, perWorker = 8, 25
	var mu sync.Mutex
	ids := map[int64]string{}
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker*4)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("s%d", w%3) // workers share settings on purpose
			body := fmt.Sprintf(`{"name":%q,"configurable_features":["user","theme"],"type":"int","default_value":1}`, name)
			resp, err := client.Post(srv.URL+"/api/v1/settings/declare", "application/json", strings.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			for i := range perWorker {
				rb := fmt.Sprintf(`{"setting":%q,"feature_values":{"user":"u%d_%d"},"value":%d}`, name, w, i, i)
				resp, err := client.Post(srv.URL+"/api/v1/rules", "application/json", strings.NewReader(rb))
				if err != nil {
					errs <- err
					return
				}
				var out struct {
					RuleID int64 `json:"rule_id"`
				}
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if resp.StatusCode != 201 || err != nil {
					errs <- fmt.Errorf("add rule: %d %v", resp.StatusCode, err)
					return
				}
				mu.Lock()
				ids[out.RuleID] = name
				mu.Unlock()
				q, err := client.Get(srv.URL + "/api/v1/query?settings=" + name)
				if err != nil {
					errs <- err
					return
				}
				var parsed map[string]any
				err = json.NewDecoder(q.Body).Decode(&parsed)
				q.Body.Close()
				if q.StatusCode != 200 || err != nil {
					errs <- fmt.Errorf("query: %d %v", q.StatusCode, err)
					return
				}
				if i%5 == 0 {
					req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/api/v1/rules/%d/value", srv.URL, out.RuleID), strings.NewReader(`{"value":-1}`))
					r, err := client.Do(req)
					if err != nil {
						errs <- err
						return
					}
					r.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(ids) != workers*perWorker {
		t.Fatalf("%d distinct rule ids for %d rules", len(ids), workers*perWorker)
	}
	keys := make([]int64, 0, len(ids))
	for id := range ids {
		keys = append(keys, id)
	}
	slices.Sort(keys)
	if keys[0] != 1 || keys[len(keys)-1] != int64(len(keys)) {
		t.Fatalf("rule ids are not 1..%d: %d..%d", len(keys), keys[0], keys[len(keys)-1])
	}
	for id, name := range ids {
		raw, err := eng.Call(context.Background(), "GET", fmt.Sprintf("/api/v1/rules/%d", id), nil)
		if err != nil || !strings.Contains(string(raw), `"setting":"`+name+`"`) {
			t.Fatalf("rule %d: %s %v", id, raw, err)
		}
	}
}
