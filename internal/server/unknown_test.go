package server

import "testing"

// TestUnknownTargets pins the answer of every endpoint to a setting,
// context feature or rule that does not exist: the status, the
// error kind (text, detail, empty) and the text.
func TestUnknownTargets(t *testing.T) {
	tests := []step{
		{method: "GET", path: "/api/v1/context_features/nope", status: 404},
		{method: "DELETE", path: "/api/v1/context_features/nope", status: 404},
		{method: "PATCH", path: "/api/v1/context_features/nope/index", body: `{"to_after":"user"}`, status: 404},
		{method: "PATCH", path: "/api/v1/context_features/user/index", body: `{"to_before":"nope"}`, status: 404},
		{method: "GET", path: "/api/v1/settings/nope", status: 404, want: "the setting nope does not exist"},
		{method: "DELETE", path: "/api/v1/settings/nope", status: 404, want: "setting name not found"},
		{method: "PUT", path: "/api/v1/settings/nope/type", body: `{"type":"int","version":"2.0"}`, status: 404, want: "the setting nope does not exist"},
		{method: "PUT", path: "/api/v1/settings/nope/name", body: `{"name":"x","version":"2.0"}`, status: 404, want: "setting does not exist"},
		{method: "PUT", path: "/api/v1/settings/nope/configurable_features", body: `{"configurable_features":["user"],"version":"2.0"}`, status: 404, want: "the setting nope does not exist"},
		{method: "GET", path: "/api/v1/settings/nope/metadata", status: 404, want: "the setting nope does not exist"},
		{method: "POST", path: "/api/v1/settings/nope/metadata", body: `{"metadata":{"a":1},"version":"2.0"}`, status: 404, want: "the setting nope does not exist"},
		{method: "PUT", path: "/api/v1/settings/nope/metadata", body: `{"metadata":{},"version":"2.0"}`, status: 404, want: "the setting nope does not exist"},
		{method: "DELETE", path: "/api/v1/settings/nope/metadata", body: `{"version":"2.0"}`, status: 404, want: "the setting nope does not exist"},
		{method: "PUT", path: "/api/v1/settings/nope/metadata/k", body: `{"value":1,"version":"2.0"}`, status: 404, want: "the setting nope does not exist"},
		{method: "DELETE", path: "/api/v1/settings/nope/metadata/k", body: `{"version":"2.0"}`, status: 404, want: "the setting nope does not exist"},
		{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"n","configurable_features":["user","planet"],"type":"int","default_value":1}`, status: 404,
			want: "{'planet'} are not acceptable context features"},
		{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"n","alias":"nope","configurable_features":["user"],"type":"int","default_value":1}`, status: 404,
			want: `{"detail":"alias nope does not exist"}`},
		{method: "PUT", path: "/api/v1/settings/size_limit/configurable_features", body: `{"configurable_features":["user","theme","planet"],"version":"2.0"}`, status: 404,
			want: "{'planet'} are not acceptable context features"},
		{method: "POST", path: "/api/v1/rules", body: `{"setting":"nope","feature_values":{"user":"x"},"value":1}`, status: 422, want: "setting not found with name nope"},
		{method: "POST", path: "/api/v1/rules", body: `{"setting":"size_limit","feature_values":{"planet":"x","trust":"y"},"value":1}`, status: 400,
			want: "setting is not configurable at context features {'planet', 'trust'}"},
		{method: "GET", path: "/api/v1/rules/99", status: 404},
		// Python's int has no size limit: a huge id is a valid integer, and
		// a missing rule (the reference's 32-bit column makes it a 500).
		{method: "GET", path: "/api/v1/rules/2147483648", status: 404},
		{method: "GET", path: "/api/v1/rules/99999999999999999999999", status: 404},
		{method: "DELETE", path: "/api/v1/rules/-99999999999999999999999", status: 404},
		{method: "PUT", path: "/api/v1/rules/1_000_000_000_000_000_000/value", body: `{"value":1}`, status: 404},
		{method: "GET", path: "/api/v1/rules/%20+1%20", status: 200, want: `{"setting":"size_limit","value":10,"feature_values":[["theme","bright"]],"metadata":{}}`},
		{method: "GET", path: "/api/v1/rules/1__0", status: 422, want: `{"detail":[{"loc":["path","rule_id"],"msg":"value is not a valid integer","type":"type_error.integer"}]}`},
		{method: "DELETE", path: "/api/v1/rules/99", status: 404},
		{method: "PUT", path: "/api/v1/rules/99/value", body: `{"value":1}`, status: 404, wantHeader: map[string]string{"Content-Type": "text/plain; charset=utf-8"}},
		{method: "PATCH", path: "/api/v1/rules/99", body: `{"value":1}`, status: 404, wantHeader: map[string]string{"Content-Type": "text/plain; charset=utf-8"}},
		{method: "GET", path: "/api/v1/rules/99/metadata", status: 404, wantHeader: map[string]string{"Content-Type": ""}},
		{method: "POST", path: "/api/v1/rules/99/metadata", body: `{"metadata":{"a":1}}`, status: 404},
		{method: "POST", path: "/api/v1/rules/99/metadata", body: `{"metadata":{}}`, status: 204},
		{method: "PUT", path: "/api/v1/rules/99/metadata", body: `{"metadata":{}}`, status: 404},
		{method: "DELETE", path: "/api/v1/rules/99/metadata", status: 404},
		{method: "PUT", path: "/api/v1/rules/99/metadata/k", body: `{"value":1}`, status: 404},
		{method: "DELETE", path: "/api/v1/rules/99/metadata/k", status: 404},
		{method: "GET", path: "/api/v1/rules/search?setting=nope&feature_values=user:x", status: 404},
		{method: "GET", path: "/api/v1/rules/search?setting=size_limit&feature_values=planet:x", status: 404},
		{method: "GET", path: "/api/v1/rules/search?setting=size_limit&feature_values=theme:bright,user:x", status: 404},
		{method: "GET", path: "/api/v1/query?settings=nope,size_limit,nope,other", status: 404, want: "the following are not setting names: ['nope', 'other']"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			_, srv := startEngine(t, Options{ContextFeatures: []string{"user", "trust", "theme"}})
			runSteps(t, srv, append(sizeLimitWithRules(), tc))
		})
	}
}

// TestNarrowingSkipsRuleCheck pins the reference's rule check on upgrades: a new
// type that is a strict subtype of the old one is a minor difference and
// the rules are not inspected, so float → int is accepted on a minor bump
// even when a rule holds 2.5; the explicit type endpoint checks the rules.
func TestNarrowingSkipsRuleCheck(t *testing.T) {
	_, srv := startEngine(t, Options{ContextFeatures: []string{"user"}})
	runSteps(t, srv, []step{
		{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"f","configurable_features":["user"],"type":"float","default_value":1}`, status: 200, want: created},
		{method: "POST", path: "/api/v1/rules", body: `{"setting":"f","feature_values":{"user":"u"},"value":2.5}`, status: 201, want: `{"rule_id":1}`},
		{method: "PUT", path: "/api/v1/settings/f/type", body: `{"type":"int","version":"1.1"}`, status: 409,
			want: `{"conflicts":["rule 1 ([('user', 'u')]) has incompatible value 2.5"]}`},
		{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"f","configurable_features":["user"],"type":"int","default_value":1,"version":"1.1"}`, status: 200,
			want: `{"outcome":"upgraded","previous_version":"1.0","differences":[{"level":"minor","attribute":"type","latest_value":"float"}]}`},
		queryStep("/api/v1/query", `{"settings":{"f":{"default_value":1,"rules":[{"value":2.5,"context_features":[["user","u"]],"rule_id":1}]}}}`),
	})
}
