package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
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

// TestConcurrentEveryHandler sends every kind of request from several
// goroutines at once (under -race in CI): writers of every endpoint race
// with readers, renames, feature moves and an outage toggle. No request
// may crash (500 outside the outage), every JSON answer must be valid, and
// the state must stay consistent afterwards: every rule belongs to a
// listed setting and every query answer renders.
func TestConcurrentEveryHandler(t *testing.T) {
	eng, srv := startEngine(t, Options{ContextFeatures: []string{"user", "trust", "theme"}})
	client := srv.Client()
	do := func(method, path, body string) (int, []byte, error) {
		var rd *strings.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		var req *http.Request
		var err error
		if rd != nil {
			req, err = http.NewRequest(method, srv.URL+path, rd)
		} else {
			req, err = http.NewRequest(method, srv.URL+path, nil)
		}
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, err = io.Copy(&b, resp.Body)
		if resp.Header.Get("Content-Type") == "application/json" && !json.Valid([]byte(b.String())) {
			return resp.StatusCode, []byte(b.String()), fmt.Errorf("invalid JSON")
		}
		return resp.StatusCode, []byte(b.String()), err
	}
	requests := func(w, i int) [][3]string {
		s := fmt.Sprintf("s%d", (w+i)%3)
		v := fmt.Sprintf("%d.%d", i+2, w)
		id := fmt.Sprint(1 + (w*7+i)%20)
		return [][3]string{
			{"POST", "/api/v1/settings/declare", fmt.Sprintf(`{"name":%q,"configurable_features":["user","theme"],"type":"int","default_value":%d,"version":%q}`, s, i, v)},
			{"POST", "/api/v1/rules", fmt.Sprintf(`{"setting":%q,"feature_values":{"user":"u%d_%d"},"value":%d,"metadata":{"w":%d}}`, s, w, i, i, w)},
			{"GET", "/api/v1/query?context_filters=user:*,theme:*&include_metadata=true", ""},
			{"GET", "/api/v1/query?settings=s0,s1", ""},
			{"PATCH", "/api/v1/context_features/user/index", `{"to_after":"theme"}`},
			{"PATCH", "/api/v1/context_features/user/index", `{"to_before":"trust"}`},
			{"GET", "/api/v1/context_features", ""},
			{"GET", "/api/v1/settings?include_additional_data=true", ""},
			{"GET", "/api/v1/settings/" + s, ""},
			{"PUT", "/api/v1/settings/" + s + "/metadata/k", fmt.Sprintf(`{"value":%d,"version":"%d.%d"}`, i, 100+i, w)},
			{"POST", "/api/v1/settings/" + s + "/metadata", fmt.Sprintf(`{"metadata":{"m":%d},"version":"%d.%d"}`, i, 200+i, w)},
			{"PUT", "/api/v1/settings/" + s + "/type", fmt.Sprintf(`{"type":"float","version":"%d.0"}`, 300+i)},
			{"PUT", "/api/v1/settings/" + s + "/configurable_features", fmt.Sprintf(`{"configurable_features":["user","theme","trust"],"version":"%d.0"}`, 400+i)},
			{"PUT", "/api/v1/rules/" + id + "/value", fmt.Sprintf(`{"value":%d}`, i)},
			{"PUT", "/api/v1/rules/" + id + "/metadata/x", `{"value":[1,{"b":1,"a":2}]}`},
			{"POST", "/api/v1/rules/" + id + "/metadata", `{"metadata":{"y":1}}`},
			{"GET", "/api/v1/rules/" + id, ""},
			{"GET", "/api/v1/rules/search?setting=" + s + "&feature_values=user:u0_0", ""},
			{"DELETE", "/api/v1/rules/" + id + "/metadata/w", ""},
			{"DELETE", "/api/v1/rules/" + fmt.Sprint(20+(w*5+i)%20), ""},
			{"PUT", "/api/v1/settings/" + s + "/name", fmt.Sprintf(`{"name":"%s_r","version":"%d.0"}`, s, 500+i)},
			{"PUT", "/api/v1/settings/" + s + "_r/name", fmt.Sprintf(`{"name":%q,"version":"%d.1"}`, s, 500+i)},
			{"POST", "/api/v1/context_features", fmt.Sprintf(`{"context_feature":"f%d_%d"}`, w, i)},
			{"DELETE", "/api/v1/context_features/" + fmt.Sprintf("f%d_%d", w, i), ""},
			{"DELETE", "/api/v1/settings/" + s, ""},
		}
	}
	const workers, rounds = 6, 12
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	var outage sync.WaitGroup
	outage.Add(1)
	go func() { // a short outage in the middle
		defer outage.Done()
		for range 3 {
			time.Sleep(20 * time.Millisecond) // spread over the run; nothing is timed
			eng.SetDatabaseDown(true)
			time.Sleep(5 * time.Millisecond)
			eng.SetDatabaseDown(false)
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				for _, r := range requests(w, i) {
					code, body, err := do(r[0], r[1], r[2])
					if err != nil {
						errs <- fmt.Errorf("%s %s: %v %s", r[0], r[1], err, body)
						return
					}
					if code >= 500 && string(body) != "Internal Server Error" {
						errs <- fmt.Errorf("%s %s: %d %s", r[0], r[1], code, body)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	outage.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	eng.SetDatabaseDown(false)
	ctx := context.Background()
	raw, err := eng.Call(ctx, "GET", "/api/v1/settings?include_additional_data=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Settings []struct {
			Name string `json:"name"`
		} `json:"settings"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range list.Settings {
		names[s.Name] = true
	}
	eng.mu.RLock()
	for id, r := range eng.st.rules {
		if !names[r.setting.name] || eng.st.settings[r.setting.name] != r.setting {
			t.Errorf("rule %d belongs to %q, which is not a listed setting", id, r.setting.name)
		}
	}
	eng.mu.RUnlock()
	if _, err := eng.Call(ctx, "GET", "/api/v1/query?include_metadata=1", nil); err != nil {
		t.Fatal(err)
	}
}
