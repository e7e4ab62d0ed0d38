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
