package server

import "testing"

func TestContextFeatures(t *testing.T) {
	tests := []struct {
		name  string
		start []string
		steps []step
	}{
		{"first feature can be added", nil, []step{
			{method: "POST", path: "/api/v1/context_features", body: `{"context_feature":"user"}`, status: 204},
			{method: "GET", path: "/api/v1/context_features/user", status: 200, want: `{"index":0}`},
		}},
		{"bad name refused", []string{"user"}, []step{
			{method: "POST", path: "/api/v1/context_features", body: `{"context_feature":"a-b"}`, status: 422,
				want: `{"detail":[{"loc":["body","context_feature"],"msg":"string does not match regex \"[a-zA-Z_0-9]+$\"","type":"value_error.str.regex","ctx":{"pattern":"[a-zA-Z_0-9]+$"}}]}`},
			{method: "POST", path: "/api/v1/context_features", body: `{"context_feature":null}`, status: 422,
				want: `{"detail":[{"loc":["body","context_feature"],"msg":"none is not an allowed value","type":"type_error.none.not_allowed"}]}`},
			{method: "GET", path: "/api/v1/context_features", status: 200, want: `{"context_features":["user"]}`},
		}},
		{"moves", []string{"a", "b", "c", "d"}, []step{
			{method: "PATCH", path: "/api/v1/context_features/a/index", body: `{"to_after":"d"}`, status: 204},
			{method: "GET", path: "/api/v1/context_features", status: 200, want: `{"context_features":["b","c","d","a"]}`},
			{method: "PATCH", path: "/api/v1/context_features/a/index", body: `{"to_before":"b"}`, status: 204},
			{method: "GET", path: "/api/v1/context_features", status: 200, want: `{"context_features":["a","b","c","d"]}`},
			{method: "PATCH", path: "/api/v1/context_features/c/index", body: `{"to_before":"b","to_after":"d"}`, status: 204},
			{method: "GET", path: "/api/v1/context_features", status: 200, want: `{"context_features":["a","b","d","c"]}`},
			{method: "PATCH", path: "/api/v1/context_features/c/index", body: `{"to_after":"c"}`, status: 204},
			{method: "PATCH", path: "/api/v1/context_features/x/index", body: `{"to_after":"c"}`, status: 404},
			{method: "PATCH", path: "/api/v1/context_features/c/index", body: `{"to_after":"x"}`, status: 404},
			{method: "PATCH", path: "/api/v1/context_features/c/index", body: `{}`, status: 422,
				want: `{"detail":[{"loc":["body","to_after"],"msg":"field required","type":"value_error.missing"},{"loc":["body","to_before"],"msg":"field required","type":"value_error.missing"}]}`},
			{method: "PATCH", path: "/api/v1/context_features/c/index", body: `{"to_after":null,"to_before":[]}`, status: 422,
				want: `{"detail":[{"loc":["body","to_after"],"msg":"none is not an allowed value","type":"type_error.none.not_allowed"},{"loc":["body","to_before"],"msg":"str type expected","type":"type_error.str"}]}`},
			{method: "PATCH", path: "/api/v1/context_features/c/index", body: `[]`, status: 422,
				want: `{"detail":[{"loc":["body"],"msg":"value is not a valid dict","type":"type_error.dict"},{"loc":["body"],"msg":"value is not a valid dict","type":"type_error.dict"}]}`},
			{method: "PATCH", path: "/api/v1/context_features/c/index", body: `{"to_after":null,"to_before":"a"}`, status: 204},
			{method: "GET", path: "/api/v1/context_features", status: 200, want: `{"context_features":["c","a","b","d"]}`},
			{method: "PATCH", path: "/api/v1/context_features/c/index", body: `{"to_after":"d"}`, status: 204},
			{method: "GET", path: "/api/v1/context_features/c", status: 200, want: `{"index":3}`},
		}},
		{"delete", []string{"user", "theme", "trust"}, []step{
			{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"a","configurable_features":["theme"],"type":"int","default_value":1}`, status: 200, want: created},
			{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"b","configurable_features":["theme"],"type":"int","default_value":1}`, status: 200, want: created},
			{method: "DELETE", path: "/api/v1/context_features/theme", status: 409, want: "context feature can't be deleted, there is at least one setting configured by it"},
			{method: "DELETE", path: "/api/v1/context_features/user", status: 204},
			{method: "DELETE", path: "/api/v1/context_features/user", status: 404},
			{method: "GET", path: "/api/v1/context_features/trust", status: 200, want: `{"index":1}`},
			{method: "POST", path: "/api/v1/context_features", body: `{"context_feature":"trust"}`, status: 409, want: "context feature already exists"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := startEngine(t, Options{ContextFeatures: tc.start})
			runSteps(t, srv, tc.steps)
		})
	}
}

func TestNewRejectsBadFeatures(t *testing.T) {
	for _, feats := range [][]string{{"a-b"}, {"a", "a"}, {""}} {
		if _, err := New(Options{ContextFeatures: feats}); err == nil {
			t.Errorf("New accepted %q", feats)
		}
	}
}

// TestDatabaseDown pins health and the outage mode: without a database
// the engine is always healthy (reference bug 20 in docs/DEVSERVER.md); SetDatabaseDown makes it
// answer like the reference with its database stopped (section 11 of testdata/heksher-0.5.7-transcript.md):
// health 500 with the usual body, API requests past validation 500 text,
// nothing changed, and everything back as before once it is up again.
func TestDatabaseDown(t *testing.T) {
	eng, srv := startEngine(t, Options{ContextFeatures: []string{"user", "trust", "theme"}})
	health := step{method: "GET", path: "/api/health", status: 200, want: `{"version":"0.5.7"}`, wantHeader: map[string]string{"Content-Type": "application/json"}}
	body := `{"settings":{"size_limit":{"default_value":200,"rules":[{"value":10,"context_features":[["theme","bright"]],"rule_id":1},{"value":20,"context_features":[["user","me"],["theme","bright"]],"rule_id":2}]}}}`
	up := append(sizeLimitWithRules(), health, health, queryStep("/api/v1/query", body))
	runSteps(t, srv, up)

	eng.SetDatabaseDown(true)
	x := func(method, path, body string) step {
		return step{method: method, path: path, body: body, status: 500, want: "Internal Server Error",
			wantHeader: map[string]string{"Content-Type": "text/plain; charset=utf-8"}}
	}
	runSteps(t, srv, []step{
		{method: "GET", path: "/api/health", status: 500, want: `{"version":"0.5.7"}`, wantHeader: map[string]string{"Content-Type": "application/json"}},
		x("GET", "/api/v1/query", ""),
		x("GET", "/api/v1/query?settings=nope", ""),
		x("GET", "/api/v1/context_features", ""),
		x("GET", "/api/v1/context_features/user", ""),
		x("POST", "/api/v1/context_features", `{"context_feature":"x"}`),
		x("DELETE", "/api/v1/context_features/trust", ""),
		x("PATCH", "/api/v1/context_features/user/index", `{"to_after":"theme"}`),
		x("POST", "/api/v1/settings/declare", decl(`"default_value":1,"version":"1.1"`)),
		x("GET", "/api/v1/settings", ""),
		x("GET", "/api/v1/settings/size_limit", ""),
		x("DELETE", "/api/v1/settings/size_limit", ""),
		x("PUT", "/api/v1/settings/size_limit/type", `{"type":"float","version":"2.0"}`),
		x("PUT", "/api/v1/settings/size_limit/name", `{"name":"x","version":"2.0"}`),
		x("PUT", "/api/v1/settings/size_limit/configurable_features", `{"configurable_features":["user"],"version":"2.0"}`),
		x("GET", "/api/v1/settings/size_limit/metadata", ""),
		x("PUT", "/api/v1/settings/size_limit/metadata/k", `{"value":1,"version":"2.0"}`),
		x("POST", "/api/v1/rules", `{"setting":"size_limit","feature_values":{"user":"x"},"value":1}`),
		x("GET", "/api/v1/rules/1", ""),
		x("GET", "/api/v1/rules/search?setting=size_limit&feature_values=theme:bright", ""),
		x("PUT", "/api/v1/rules/1/value", `{"value":1}`),
		x("DELETE", "/api/v1/rules/1", ""),
		x("PUT", "/api/v1/rules/1/metadata/k", `{"value":1}`),
		// Validation needs no database, and neither does a merge of {}.
		{method: "POST", path: "/api/v1/settings/declare", body: `{}`, status: 422,
			want: `{"detail":[{"loc":["body","name"],"msg":"field required","type":"value_error.missing"},{"loc":["body","configurable_features"],"msg":"field required","type":"value_error.missing"},{"loc":["body","type"],"msg":"field required","type":"value_error.missing"},{"loc":["body","default_value"],"msg":"field required","type":"value_error.missing"}]}`},
		{method: "GET", path: "/api/v1/rules/x", status: 422, want: `{"detail":[{"loc":["path","rule_id"],"msg":"value is not a valid integer","type":"type_error.integer"}]}`},
		{method: "POST", path: "/api/v1/rules/1/metadata", body: `{"metadata":{}}`, status: 204},
		{method: "GET", path: "/api/v1/nope", status: 404, want: `{"detail":"Not Found"}`},
	})

	eng.SetDatabaseDown(false)
	runSteps(t, srv, []step{health, queryStep("/api/v1/query", body),
		{method: "GET", path: "/api/v1/settings/size_limit/metadata", status: 200, want: `{"metadata":{"testing":true}}`}})
}
