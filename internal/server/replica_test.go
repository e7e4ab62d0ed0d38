package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func replicaState() *ReplicaState {
	return &ReplicaState{
		ContextFeatures: []string{"user", "theme"},
		Settings: []ReplicaSetting{{
			Name: "size_limit", Aliases: []string{"limit"}, Type: "int", DefaultValue: json.RawMessage(`200`),
			Metadata: json.RawMessage(`{"z":1,"a":2}`), ConfigurableFeatures: []string{"theme", "user"}, Version: "1.2",
			Rules: []ReplicaRule{{ID: 7, Conditions: [][2]string{{"user", "me"}}, Value: json.RawMessage(`10`),
				Metadata: json.RawMessage(`{"by":"ops"}`)}},
		}},
	}
}

// TestReplace: the state is taken whole, with the upstream's rule ids,
// alias and metadata order; a state that does not hold together is refused
// and leaves the current one.
func TestReplace(t *testing.T) {
	eng, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Replace(replicaState()); err != nil {
		t.Fatal(err)
	}
	get := func(path string) string {
		_, body, err := eng.Do(context.Background(), http.MethodGet, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return string(body)
	}
	want := `{"name":"size_limit","configurable_features":["user","theme"],"type":"int","default_value":200,"metadata":{"z":1,"a":2},"aliases":["limit"],"version":"1.2"}`
	if got := get("/api/v1/settings/limit"); got != want {
		t.Errorf("setting by alias: %s, want %s", got, want)
	}
	if got, want := get("/api/v1/query?include_metadata=true"), `{"settings":{"size_limit":{"default_value":200,"rules":[{"value":10,"context_features":[["user","me"]],"rule_id":7,"metadata":{"by":"ops"}}]}}}`; got != want {
		t.Errorf("query: %s, want %s", got, want)
	}
	if !eng.Knows("limit") || eng.Knows("nope") {
		t.Error("Knows")
	}
	for _, bad := range []func(*ReplicaState){
		func(rs *ReplicaState) { rs.Settings[0].Rules[0].Conditions = [][2]string{{"trust", "x"}} },
		func(rs *ReplicaState) { rs.Settings[0].DefaultValue = json.RawMessage(`"x"`) },
		func(rs *ReplicaState) { rs.Settings = append(rs.Settings, rs.Settings[0]) },
		func(rs *ReplicaState) { rs.ContextFeatures = []string{"user", "user"} },
	} {
		rs := replicaState()
		rs.Settings[0].DefaultValue = json.RawMessage(`300`)
		bad(rs)
		if err := eng.Replace(rs); !errors.Is(err, ErrBadData) {
			t.Errorf("bad state: %v, want ErrBadData", err)
		}
		if got := get("/api/v1/settings/limit"); got != want {
			t.Errorf("after a refused state: %s", got)
		}
	}
}

// TestReplaceWakesWatches: a watch held on a replica is answered when a
// new state comes in.
func TestReplaceWakesWatches(t *testing.T) {
	eng, err := New(Options{Watch: WatchOptions{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Replace(replicaState()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(eng.Handler())
	defer srv.Close()
	etag := watchGet(context.Background(), srv.Client(), srv.URL+"/api/v1/query", "", "").header.Get("ETag")
	got := make(chan watchAnswer, 1)
	go func() { got <- watchGet(context.Background(), srv.Client(), srv.URL+"/api/v1/query", etag, "wait=30") }()
	eventually(t, "the watch held", func() bool { return eng.Watchers() == 1 })
	rs := replicaState()
	rs.Settings[0].DefaultValue = json.RawMessage(`300`)
	if err := eng.Replace(rs); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-got:
		if a.status != http.StatusOK {
			t.Errorf("watch answered %d", a.status)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the watch was not woken by Replace")
	}
}

// TestReadOnlyHandler: every request that can change the state goes to the
// write handler; reads and the answers of unknown routes go to the engine.
func TestReadOnlyHandler(t *testing.T) {
	eng, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	refused := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := eng.ReadOnlyHandler(refused)
	cases := []struct {
		method, path string
		status       int
	}{
		{"GET", "/api/v1/query", http.StatusOK},
		{"HEAD", "/api/v1/settings", http.StatusOK},
		{"POST", "/api/v1/settings/declare", http.StatusTeapot},
		{"POST", "/api/v1/rules", http.StatusTeapot},
		{"PATCH", "/api/v1/rules/3", http.StatusTeapot},
		{"DELETE", "/api/v1/settings/x", http.StatusTeapot},
		{"PUT", "/api/v1/settings/x/metadata/k", http.StatusTeapot},
		{"POST", "/api/v1/context_features", http.StatusTeapot},
		{"PUT", "/api/v1/query", http.StatusMethodNotAllowed},
		{"POST", "/api/v2/nothing", http.StatusNotFound},
		{"POST", "/api/v1/rules/", http.StatusTemporaryRedirect},
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		if w.Code != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, w.Code, c.status)
		}
	}
	if !IsDeclare("POST", "/api/v1/settings/declare") || IsDeclare("GET", "/api/v1/settings/declare") {
		t.Error("IsDeclare")
	}
}
