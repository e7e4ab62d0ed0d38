package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestPrologueOrder pins the order every handler follows: validation
// first, so a malformed request gets the same 422 (or 400) with the
// database down as up; then the outage answer, before the setting or rule
// is looked up, so an unknown name is a 500 rather than a 404 while down.
func TestPrologueOrder(t *testing.T) {
	const notInt = `{"detail":[{"loc":["path","rule_id"],"msg":"value is not a valid integer","type":"type_error.integer"}]}`
	tests := []struct {
		name         string
		method, path string
		body         string
		invalid      string // the validation answer; "" for a valid request
	}{
		{name: "add feature", method: "POST", path: "/api/v1/context_features", body: `{"context_feature":"a-b"}`,
			invalid: `{"detail":[{"loc":["body","context_feature"],"msg":"string does not match regex \"[a-zA-Z_0-9]+$\"","type":"value_error.str.regex","ctx":{"pattern":"[a-zA-Z_0-9]+$"}}]}`},
		{name: "move feature", method: "PATCH", path: "/api/v1/context_features/user/index", body: `{}`,
			invalid: `{"detail":[{"loc":["body","to_after"],"msg":"field required","type":"value_error.missing"},{"loc":["body","to_before"],"msg":"field required","type":"value_error.missing"}]}`},
		{name: "declare", method: "POST", path: "/api/v1/settings/declare", body: decl(`"version":"x"`),
			invalid: `{"detail":[{"loc":["body","version"],"msg":"string does not match regex \"^[0-9]+\\.[0-9]+$\"","type":"value_error.str.regex","ctx":{"pattern":"^[0-9]+\\.[0-9]+$"}}]}`},
		{name: "list settings", method: "GET", path: "/api/v1/settings?include_additional_data=maybe",
			invalid: `{"detail":[{"loc":["query","include_additional_data"],"msg":"value could not be parsed to a boolean","type":"type_error.bool"}]}`},
		{name: "put type", method: "PUT", path: "/api/v1/settings/nope/type", body: `{"type":"int"}`,
			invalid: `{"detail":[{"loc":["body","version"],"msg":"field required","type":"value_error.missing"}]}`},
		{name: "put name", method: "PUT", path: "/api/v1/settings/nope/name", body: `{"version":"2.0"}`,
			invalid: `{"detail":[{"loc":["body","name"],"msg":"field required","type":"value_error.missing"}]}`},
		{name: "put features", method: "PUT", path: "/api/v1/settings/nope/configurable_features", body: `{"configurable_features":[],"version":"2.0"}`,
			invalid: `{"detail":[{"loc":["body","configurable_features"],"msg":"ensure this value has at least 1 items","type":"value_error.list.min_items","ctx":{"limit_value":1}}]}`},
		{name: "setting metadata key", method: "PUT", path: "/api/v1/settings/nope/metadata/a.b", body: `{"value":1}`,
			invalid: `{"detail":[{"loc":["path","key"],"msg":"string does not match regex \"[a-zA-Z0-9_-]+$\"","type":"value_error.str.regex","ctx":{"pattern":"[a-zA-Z0-9_-]+$"}},{"loc":["body","version"],"msg":"field required","type":"value_error.missing"}]}`},
		{name: "add rule", method: "POST", path: "/api/v1/rules", body: `{"setting":"nope","feature_values":{},"value":1}`,
			invalid: `{"detail":[{"loc":["body","feature_values"],"msg":"feature_values must not be empty","type":"value_error"}]}`},
		{name: "search rule", method: "GET", path: "/api/v1/rules/search?setting=nope",
			invalid: `{"detail":[{"loc":["query","feature_values"],"msg":"field required","type":"value_error.missing"}]}`},
		{name: "get rule", method: "GET", path: "/api/v1/rules/x", invalid: notInt},
		{name: "delete rule", method: "DELETE", path: "/api/v1/rules/x", invalid: notInt},
		{name: "rule value", method: "PUT", path: "/api/v1/rules/x/value", body: `{"value":1}`, invalid: notInt},
		{name: "rule value undecodable", method: "PATCH", path: "/api/v1/rules/1", body: "\xff\xfe\x00",
			invalid: `{"detail":"There was an error parsing the body"}`},
		{name: "rule metadata", method: "GET", path: "/api/v1/rules/x/metadata", invalid: notInt},
		{name: "rule metadata replace", method: "PUT", path: "/api/v1/rules/1/metadata", body: `{"metadata":{"a.b":1}}`,
			invalid: `{"detail":[{"loc":["body","metadata","__key__"],"msg":"string does not match regex \"[a-zA-Z0-9_-]+$\"","type":"value_error.str.regex","ctx":{"pattern":"[a-zA-Z0-9_-]+$"}}]}`},
		{name: "rule metadata key", method: "DELETE", path: "/api/v1/rules/x/metadata/k", invalid: notInt},
		{name: "query", method: "GET", path: "/api/v1/query?include_metadata=maybe",
			invalid: `{"detail":[{"loc":["query","include_metadata"],"msg":"value could not be parsed to a boolean","type":"type_error.bool"}]}`},

		// Valid requests naming nothing that exists: down, the outage
		// answer comes before the lookup.
		{name: "unknown feature", method: "GET", path: "/api/v1/context_features/nope"},
		{name: "unknown setting", method: "GET", path: "/api/v1/settings/nope"},
		{name: "delete unknown setting", method: "DELETE", path: "/api/v1/settings/nope"},
		{name: "rename unknown setting", method: "PUT", path: "/api/v1/settings/nope/name", body: `{"name":"x","version":"2.0"}`},
		{name: "unknown setting metadata", method: "POST", path: "/api/v1/settings/nope/metadata", body: `{"metadata":{"a":1},"version":"2.0"}`},
		{name: "unknown setting metadata clear", method: "DELETE", path: "/api/v1/settings/nope/metadata", body: `{"version":"2.0"}`},
		{name: "rule for unknown setting", method: "POST", path: "/api/v1/rules", body: `{"setting":"nope","feature_values":{"user":"x"},"value":1}`},
		{name: "search unknown setting", method: "GET", path: "/api/v1/rules/search?setting=nope&feature_values=user:x"},
		{name: "unknown rule", method: "GET", path: "/api/v1/rules/99"},
		{name: "unknown rule value", method: "PATCH", path: "/api/v1/rules/99", body: `{"value":1}`},
		{name: "unknown rule metadata", method: "GET", path: "/api/v1/rules/99/metadata"},
		{name: "unknown rule metadata merge", method: "POST", path: "/api/v1/rules/99/metadata", body: `{"metadata":{"a":1}}`},
		{name: "unknown rule metadata clear", method: "DELETE", path: "/api/v1/rules/99/metadata"},
		{name: "query unknown setting", method: "GET", path: "/api/v1/query?settings=nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, down := range []bool{false, true} {
				eng := seededEngine(t)
				eng.SetDatabaseDown(down)
				gen := eng.gen
				status, body := doRaw(t, eng, tt.method, tt.path, tt.body)
				if eng.gen != gen {
					t.Errorf("down=%v: the state changed", down)
				}
				switch {
				case tt.invalid != "":
					if (status != http.StatusUnprocessableEntity && status != http.StatusBadRequest) || body != tt.invalid {
						t.Errorf("down=%v: got %d %s\nwant the validation answer %s", down, status, body, tt.invalid)
					}
				case down:
					if status != http.StatusInternalServerError || body != "Internal Server Error" {
						t.Errorf("down: got %d %s, want 500 Internal Server Error", status, body)
					}
				case status >= 500 || status == http.StatusUnprocessableEntity && strings.HasPrefix(body, `{"detail":[`):
					t.Errorf("up: got %d %s, want the endpoint's own answer", status, body)
				}
			}
		})
	}
}
