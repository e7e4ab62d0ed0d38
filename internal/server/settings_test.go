package server

import "testing"

// sizeLimitWithRules is a starting point: features user, trust, theme;
// size_limit as in the API examples, with rules 1 {theme:bright}=10 and
// 2 {user:me,theme:bright}=20.
func sizeLimitWithRules() []step {
	return []step{
		{method: "POST", path: "/api/v1/settings/declare", body: declareSizeLimit, status: 200, want: created},
		{method: "POST", path: "/api/v1/rules", body: `{"setting":"size_limit","feature_values":{"theme":"bright"},"value":10}`, status: 201, want: `{"rule_id":1}`},
		{method: "POST", path: "/api/v1/rules", body: `{"setting":"size_limit","feature_values":{"user":"me","theme":"bright"},"value":20}`, status: 201, want: `{"rule_id":2}`},
	}
}

func TestSettingEndpoints(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"put type", []step{
			{method: "PUT", path: "/api/v1/settings/nope/type", body: `{"type":"int","version":"1.1"}`, status: 404, want: "the setting nope does not exist"},
			{method: "PUT", path: "/api/v1/settings/size_limit/type", body: `{"type":"int","version":"1.0"}`, status: 204},
			{method: "PUT", path: "/api/v1/settings/size_limit/type", body: `{"type":"float","version":"1.0"}`, status: 409, want: "the setting size_limit is at a higher version than the request ((1, 0))"},
			{method: "PUT", path: "/api/v1/settings/size_limit/type", body: `{"type":"int","version":"1.1"}`, status: 204},
			{method: "PUT", path: "/api/v1/settings/size_limit/type", body: `{"type":"float","version":"1.2"}`, status: 409, want: `{"conflicts":["cannot change type to non-subtype float in a minor version bump"]}`},
			{method: "PUT", path: "/api/v1/settings/size_limit/type", body: `{"type":"Enum[10,20]","version":"2.0"}`, status: 409,
				want: `{"conflicts":["the default value 200 does not match the new type"]}`},
			{method: "PUT", path: "/api/v1/settings/size_limit/type", body: `{"type":"float","version":"2.0"}`, status: 204},
			{method: "GET", path: "/api/v1/settings", status: 200, want: `{"settings":[{"name":"size_limit","type":"float","default_value":200,"version":"2.0"}]}`},
			{method: "PUT", path: "/api/v1/settings/size_limit/type", body: `{"type":"integer"}`, status: 422,
				want: `{"detail":[{"loc":["body","type"],"msg":"cannot resolve setting type integer","type":"value_error"},{"loc":["body","version"],"msg":"field required","type":"value_error.missing"}]}`},
		}},
		{"put name", []step{
			{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"other","configurable_features":["user"],"type":"int","default_value":1}`, status: 200, want: created},
			{method: "PUT", path: "/api/v1/settings/nope/name", body: `{"name":"x","version":"1.1"}`, status: 404, want: "setting does not exist"},
			{method: "PUT", path: "/api/v1/settings/size_limit/name", body: `{"name":"size_limit","version":"1.0"}`, status: 204},
			{method: "PUT", path: "/api/v1/settings/size_limit/name", body: `{"name":"x","version":"0.9"}`, status: 409, want: "The setting size_limit already has a newer version (1.0)"},
			{method: "PUT", path: "/api/v1/settings/size_limit/name", body: `{"name":"other","version":"1.1"}`, status: 409, want: "name already exists"},
			{method: "PUT", path: "/api/v1/settings/size_limit/name", body: `{"name":"limit","version":"1.0"}`, status: 204},
			{method: "PUT", path: "/api/v1/settings/limit/name", body: `{"name":"size_limit","version":"1.1"}`, status: 204},
			{method: "GET", path: "/api/v1/settings/limit", status: 200,
				want: `{"name":"size_limit","configurable_features":["user","theme"],"type":"int","default_value":200,"metadata":{"testing":true},"aliases":["limit"],"version":"1.1"}`},
			{method: "GET", path: "/api/v1/rules/2", status: 200, want: `{"setting":"size_limit","value":20,"feature_values":[["user","me"],["theme","bright"]],"metadata":{}}`},
			{method: "PUT", path: "/api/v1/settings/size_limit/name", body: `{"name":"a-b","version":"1.2"}`, status: 422,
				want: `{"detail":[{"loc":["body","name"],"msg":"string does not match regex \"[a-zA-Z_0-9.]+$\"","type":"value_error.str.regex","ctx":{"pattern":"[a-zA-Z_0-9.]+$"}}]}`},
		}},
		{"put configurable features", []step{
			{method: "PUT", path: "/api/v1/settings/size_limit/configurable_features", body: `{"configurable_features":["theme","user"],"version":"1.0"}`, status: 204},
			{method: "PUT", path: "/api/v1/settings/size_limit/configurable_features", body: `{"configurable_features":["theme"],"version":"1.0"}`, status: 409,
				want: "the setting size_limit is at a higher version than the request ((1, 0))"},
			{method: "PUT", path: "/api/v1/settings/size_limit/configurable_features", body: `{"configurable_features":["theme"],"version":"1.1"}`, status: 409,
				want: "Configurable features {'user'} are in use by rules [2]"},
			{method: "PUT", path: "/api/v1/settings/size_limit/configurable_features", body: `{"configurable_features":["user","theme","trust"],"version":"1.1"}`, status: 409,
				want: "Cannot add new configurable features on a minor version bump"},
			{method: "PUT", path: "/api/v1/settings/size_limit/configurable_features", body: `{"configurable_features":["user","theme","planet"],"version":"2.0"}`, status: 404,
				want: "{'planet'} are not acceptable context features"},
			{method: "PUT", path: "/api/v1/settings/size_limit/configurable_features", body: `{"configurable_features":["theme","trust","user"],"version":"2.0"}`, status: 204},
			{method: "GET", path: "/api/v1/settings?include_additional_data=1", status: 200,
				want: `{"settings":[{"name":"size_limit","type":"int","default_value":200,"version":"2.0","configurable_features":["user","trust","theme"],"metadata":{"testing":true},"aliases":[]}]}`},
			{method: "PUT", path: "/api/v1/settings/size_limit/configurable_features", body: `{"configurable_features":[],"version":"3.0"}`, status: 422,
				want: `{"detail":[{"loc":["body","configurable_features"],"msg":"ensure this value has at least 1 items","type":"value_error.list.min_items","ctx":{"limit_value":1}}]}`},
		}},
		{"metadata", []step{
			{method: "GET", path: "/api/v1/settings/nope/metadata", status: 404, want: "the setting nope does not exist"},
			{method: "POST", path: "/api/v1/settings/size_limit/metadata", body: `{"metadata":{"b":1,"testing":false},"version":"1.1"}`, status: 204},
			// the rewritten key reads back last (row order, jsonb.go)
			{method: "GET", path: "/api/v1/settings/size_limit/metadata", status: 200, want: `{"metadata":{"b":1,"testing":false}}`},
			{method: "POST", path: "/api/v1/settings/size_limit/metadata", body: `{"metadata":{"c":1},"version":"1.1"}`, status: 409, want: "The setting size_limit already has a newer version (1.1)"},
			{method: "PUT", path: "/api/v1/settings/size_limit/metadata/c-1", body: `{"value":[1,{"x":null}],"version":"1.2"}`, status: 204},
			{method: "DELETE", path: "/api/v1/settings/size_limit/metadata/b", body: `{"version":"1.3"}`, status: 204},
			{method: "DELETE", path: "/api/v1/settings/size_limit/metadata/absent", body: `{"version":"1.4"}`, status: 204},
			{method: "GET", path: "/api/v1/settings/size_limit/metadata", status: 200, want: `{"metadata":{"testing":false,"c-1":[1,{"x":null}]}}`},
			{method: "PUT", path: "/api/v1/settings/size_limit/metadata", body: `{"metadata":{"z":true},"version":"1.5"}`, status: 204},
			{method: "GET", path: "/api/v1/settings/size_limit/metadata", status: 200, want: `{"metadata":{"z":true}}`},
			{method: "DELETE", path: "/api/v1/settings/size_limit/metadata", body: `{"version":"1.6"}`, status: 204},
			{method: "GET", path: "/api/v1/settings/size_limit", status: 200,
				want: `{"name":"size_limit","configurable_features":["user","theme"],"type":"int","default_value":200,"metadata":{},"aliases":[],"version":"1.6"}`},
			{method: "DELETE", path: "/api/v1/settings/size_limit/metadata", status: 422, want: `{"detail":[{"loc":["body"],"msg":"field required","type":"value_error.missing"}]}`},
			{method: "PUT", path: "/api/v1/settings/size_limit/metadata/a%20b", body: `{"version":"2.0"}`, status: 422,
				want: `{"detail":[{"loc":["path","key"],"msg":"string does not match regex \"[a-zA-Z0-9_-]+$\"","type":"value_error.str.regex","ctx":{"pattern":"[a-zA-Z0-9_-]+$"}},{"loc":["body","value"],"msg":"field required","type":"value_error.missing"}]}`},
		}},
		{"delete", []step{
			{method: "DELETE", path: "/api/v1/settings/size_limit", status: 204},
			{method: "GET", path: "/api/v1/rules/1", status: 404},
			{method: "DELETE", path: "/api/v1/settings/size_limit", status: 404, want: "setting name not found"},
			{method: "POST", path: "/api/v1/rules", body: `{"setting":"size_limit","feature_values":{"theme":"bright"},"value":10}`, status: 422, want: "setting not found with name size_limit"},
			{method: "POST", path: "/api/v1/settings/declare", body: declareSizeLimit, status: 200, want: created},
			{method: "POST", path: "/api/v1/rules", body: `{"setting":"size_limit","feature_values":{"theme":"bright"},"value":10}`, status: 201, want: `{"rule_id":3}`},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := startEngine(t, Options{ContextFeatures: []string{"user", "trust", "theme"}})
			runSteps(t, srv, append(sizeLimitWithRules(), tc.steps...))
		})
	}
}
