package server

import "testing"

func TestRules(t *testing.T) {
	steps := append(sizeLimitWithRules(),
		step{method: "GET", path: "/api/v1/rules/search?setting=size_limit&feature_values=theme:bright", status: 200, want: `{"rule_id":1}`},
		step{method: "GET", path: "/api/v1/rules/search?setting=size_limit&feature_values=theme:bright,user:me", status: 200, want: `{"rule_id":2}`},
		step{method: "GET", path: "/api/v1/rules/search?setting=nope&feature_values=theme:bright", status: 404},
		step{method: "GET", path: "/api/v1/rules/search?setting=size_limit&feature_values=theme", status: 422,
			want: `{"detail":[{"loc":["query","feature_values"],"msg":"string does not match regex \"[a-zA-Z_0-9]+:[a-zA-Z_0-9]+(,[a-zA-Z_0-9]+:[a-zA-Z_0-9]+)*$\"","type":"value_error.str.regex","ctx":{"pattern":"[a-zA-Z_0-9]+:[a-zA-Z_0-9]+(,[a-zA-Z_0-9]+:[a-zA-Z_0-9]+)*$"}}]}`},
		step{method: "GET", path: "/api/v1/rules/search", status: 422,
			want: `{"detail":[{"loc":["query","setting"],"msg":"field required","type":"value_error.missing"},{"loc":["query","feature_values"],"msg":"field required","type":"value_error.missing"}]}`},
		step{method: "GET", path: "/api/v1/rules/abc", status: 422, want: `{"detail":[{"loc":["path","rule_id"],"msg":"value is not a valid integer","type":"type_error.integer"}]}`},
		step{method: "DELETE", path: "/api/v1/rules/search", status: 422, want: `{"detail":[{"loc":["path","rule_id"],"msg":"value is not a valid integer","type":"type_error.integer"}]}`},
		step{method: "PATCH", path: "/api/v1/rules/1", body: `{"value":11}`, status: 204},
		step{method: "PUT", path: "/api/v1/rules/99/value", body: `{"value":11}`, status: 404, want: ""},
		step{method: "PUT", path: "/api/v1/rules/1/value", body: `{}`, status: 422, want: `{"detail":[{"loc":["body","value"],"msg":"field required","type":"value_error.missing"}]}`},
		step{method: "PUT", path: "/api/v1/rules/x/value", body: `{}`, status: 422, want: `{"detail":[{"loc":["path","rule_id"],"msg":"value is not a valid integer","type":"type_error.integer"},{"loc":["body","value"],"msg":"field required","type":"value_error.missing"}]}`},
		step{method: "PUT", path: "/api/v1/rules/x/value", body: `{`, status: 422, want: `{"detail":[{"loc":["body",1],"msg":"Expecting property name enclosed in double quotes: line 1 column 2 (char 1)","type":"value_error.jsondecode","ctx":{"msg":"Expecting property name enclosed in double quotes","doc":"{","pos":1,"lineno":1,"colno":2}}]}`},
		step{method: "POST", path: "/api/v1/rules", body: `{"setting":"size_limit","feature_values":{"a b":"x","user":5},"value":1}`, status: 422,
			want: `{"detail":[{"loc":["body","feature_values","__key__"],"msg":"string does not match regex \"[a-zA-Z_0-9]+$\"","type":"value_error.str.regex","ctx":{"pattern":"[a-zA-Z_0-9]+$"}}]}`},
		step{method: "POST", path: "/api/v1/rules", body: `{"setting":"size_limit","feature_values":{"user":5},"value":1.0,"metadata":{"k":[]}}`, status: 201, want: `{"rule_id":3}`},
		step{method: "GET", path: "/api/v1/rules/3", status: 200, want: `{"setting":"size_limit","value":1.0,"feature_values":[["user","5"]],"metadata":{"k":[]}}`},
		// rule metadata
		step{method: "POST", path: "/api/v1/rules/3/metadata", body: `{"metadata":{"a":1,"k":2}}`, status: 204},
		step{method: "PUT", path: "/api/v1/rules/3/metadata/z", body: `{"value":"v"}`, status: 204},
		// k was written again, so it reads back after a (row order, jsonb.go)
		step{method: "GET", path: "/api/v1/rules/3/metadata", status: 200, want: `{"metadata":{"a":1,"k":2,"z":"v"}}`},
		step{method: "DELETE", path: "/api/v1/rules/3/metadata/k", status: 204},
		step{method: "GET", path: "/api/v1/rules/3/metadata", status: 200, want: `{"metadata":{"a":1,"z":"v"}}`},
		step{method: "PUT", path: "/api/v1/rules/3/metadata", body: `{"metadata":{}}`, status: 204},
		step{method: "GET", path: "/api/v1/rules/3/metadata", status: 200, want: `{"metadata":{}}`},
		step{method: "PUT", path: "/api/v1/rules/3/metadata", body: `{"metadata":{"q":1}}`, status: 204},
		step{method: "DELETE", path: "/api/v1/rules/3/metadata", status: 204},
		step{method: "GET", path: "/api/v1/rules/3/metadata", status: 200, want: `{"metadata":{}}`},
		step{method: "POST", path: "/api/v1/rules/99/metadata", body: `{"metadata":{}}`, status: 204},
		step{method: "POST", path: "/api/v1/rules/99/metadata", body: `{"metadata":{"a":1}}`, status: 404},
		step{method: "GET", path: "/api/v1/rules/99/metadata", status: 404},
		step{method: "DELETE", path: "/api/v1/rules/99/metadata/a", status: 404},
		step{method: "DELETE", path: "/api/v1/rules/3", status: 204},
		step{method: "POST", path: "/api/v1/rules", body: `{"setting":"size_limit","feature_values":{"user":"x"},"value":2}`, status: 201, want: `{"rule_id":4}`, wantHeader: map[string]string{"Location": "/4"}},
	)
	_, srv := startEngine(t, Options{ContextFeatures: []string{"user", "trust", "theme"}})
	runSteps(t, srv, steps)
}
