package server

import "testing"

func TestDeclareOutcomes(t *testing.T) {
	withRuleOnTheme := []step{{method: "POST", path: "/api/v1/rules", body: `{"setting":"size_limit","feature_values":{"theme":"dark"},"value":1}`, status: 201, want: `{"rule_id":1}`}}
	tests := []struct {
		name  string
		setup []step
		req   string
		code  int
		want  string
	}{
		{"same attributes", nil, declareSizeLimit, 200, uptodate},
		{"reordered features", nil, `{"name":"size_limit","configurable_features":["theme","user"],"type":"int","default_value":200,"metadata":{"testing":true},"version":"1.0"}`, 200, uptodate},
		{"default changed same version", nil, decl(`"default_value":300,"version":"1.0"`), 409,
			`{"outcome":"mismatch","differences":[{"level":"minor","attribute":"default_value","latest_value":200}]}`},
		{"default changed minor bump", nil, decl(`"default_value":300,"version":"1.1"`), 200,
			`{"outcome":"upgraded","previous_version":"1.0","differences":[{"level":"minor","attribute":"default_value","latest_value":200}]}`},
		{"feature added minor bump", nil, decl(`"configurable_features":["user","theme","trust"],"version":"1.1"`), 409,
			`{"outcome":"rejected","previous_version":"1.0","differences":[{"level":"major","attribute":"configurable_features","latest_value":["user","theme"]}]}`},
		{"feature added major bump", nil, decl(`"configurable_features":["user","theme","trust"],"version":"2.0"`), 200,
			`{"outcome":"upgraded","previous_version":"1.0","differences":[{"level":"major","attribute":"configurable_features","latest_value":["user","theme"]}]}`},
		{"unknown feature added", nil, decl(`"configurable_features":["user","planet"],"version":"2.0"`), 404,
			`{"detail":"{'planet'} are not acceptable context features"}`},
		{"widen type minor", nil, decl(`"type":"float","version":"1.1"`), 409,
			`{"outcome":"rejected","previous_version":"1.0","differences":[{"level":"major","attribute":"type","latest_value":"int"}]}`},
		{"widen type major", nil, decl(`"type":"float","version":"2.0"`), 200,
			`{"outcome":"upgraded","previous_version":"1.0","differences":[{"level":"major","attribute":"type","latest_value":"int"}]}`},
		{"remove used feature", withRuleOnTheme, decl(`"configurable_features":["user"],"version":"1.1"`), 409,
			`{"outcome":"rejected","previous_version":"1.0","differences":[{"level":"mismatch","message":"configurable features ['theme'] are still in use by rules [1]"}]}`},
		{"remove unused feature", nil, decl(`"configurable_features":["user"],"version":"1.1"`), 200,
			`{"outcome":"upgraded","previous_version":"1.0","differences":[{"level":"minor","message":"removal of configurable features ['theme']"}]}`},
		{"outdated", nil, decl(`"configurable_features":["user"],"version":"0.1"`), 200,
			`{"outcome":"outdated","latest_version":"1.0","differences":[{"level":"major","attribute":"configurable_features","latest_value":["user","theme"]}]}`},
		{"rename with alias", nil, `{"name":"foo","alias":"size_limit","configurable_features":["user","theme"],"type":"int","default_value":200,"metadata":{"testing":true},"version":"2.0"}`, 200,
			`{"outcome":"upgraded","previous_version":"1.0","differences":[{"level":"minor","attribute":"name","latest_value":"size_limit"}]}`},
		{"alias equals name", nil, decl(`"alias":"size_limit"`), 422,
			`{"detail":[{"loc":["body","__root__"],"msg":"name (size_limit) and alias (size_limit) must differ","type":"value_error"}]}`},
		{"alias missing", nil, decl(`"alias":"nonexistent"`), 404, `{"detail":"alias nonexistent does not exist"}`},
		{"type incompatible with rules", withRuleOnTheme, decl(`"type":"str","default_value":"x","version":"2.0"`), 409,
			`{"outcome":"rejected","previous_version":"1.0","differences":[{"level":"minor","attribute":"default_value","latest_value":200},{"level":"mismatch","message":"setting type incompatible with values for rules: [1]"}]}`},
		{"rename does not see the rules", withRuleOnTheme, `{"name":"foo","alias":"size_limit","configurable_features":["user","theme"],"type":"str","default_value":"x","metadata":{"testing":true},"version":"2.0"}`, 200,
			`{"outcome":"upgraded","previous_version":"1.0","differences":[{"level":"minor","attribute":"name","latest_value":"size_limit"},{"level":"minor","attribute":"default_value","latest_value":200},{"level":"major","attribute":"type","latest_value":"int"}]}`},
		{"string-equal version quirk", nil, decl(`"version":"1.00"`), 200, `{"outcome":"upgraded","previous_version":"1.0","differences":[]}`},
		{"metadata cleared", nil, decl(`"metadata":{},"version":"1.1"`), 200,
			`{"outcome":"upgraded","previous_version":"1.0","differences":[{"level":"minor","attribute":"metadata","latest_value":{"testing":true}}]}`},
		{"python equality of defaults", nil, decl(`"default_value":200.0`), 200, uptodate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := startEngine(t, Options{ContextFeatures: []string{"user", "trust", "theme"}})
			steps := []step{{method: "POST", path: "/api/v1/settings/declare", body: declareSizeLimit, status: 200, want: created}}
			steps = append(steps, tc.setup...)
			steps = append(steps, step{method: "POST", path: "/api/v1/settings/declare", body: tc.req, status: tc.code, want: tc.want})
			runSteps(t, srv, steps)
		})
	}
}

func TestDeclareAppliesUpgrades(t *testing.T) {
	_, srv := startEngine(t, Options{ContextFeatures: []string{"user", "trust", "theme"}})
	runSteps(t, srv, []step{
		{method: "POST", path: "/api/v1/settings/declare", body: declareSizeLimit, status: 200, want: created},
		// metadata {} replaces non-empty metadata (reference crash fixed).
		{method: "POST", path: "/api/v1/settings/declare", body: decl(`"metadata":{},"version":"1.1"`), status: 200,
			want: `{"outcome":"upgraded","previous_version":"1.0","differences":[{"level":"minor","attribute":"metadata","latest_value":{"testing":true}}]}`},
		{method: "GET", path: "/api/v1/settings/size_limit/metadata", status: 200, want: `{"metadata":{}}`},
		// a falsy default is reported but not stored (reference bug kept).
		{method: "POST", path: "/api/v1/settings/declare", body: decl(`"metadata":{},"default_value":0,"version":"1.2"`), status: 200,
			want: `{"outcome":"upgraded","previous_version":"1.1","differences":[{"level":"minor","attribute":"default_value","latest_value":200}]}`},
		{method: "GET", path: "/api/v1/query?settings=size_limit", status: 200, want: `{"settings":{"size_limit":{"default_value":200,"rules":[]}}}`},
		// declaring by alias renames back on upgrade.
		{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"new_name","alias":"size_limit","configurable_features":["user","theme"],"type":"int","default_value":200,"metadata":{},"version":"1.3"}`, status: 200,
			want: `{"outcome":"upgraded","previous_version":"1.2","differences":[{"level":"minor","attribute":"name","latest_value":"size_limit"}]}`},
		{method: "POST", path: "/api/v1/settings/declare", body: decl(`"metadata":{},"version":"1.3"`), status: 409,
			want: `{"outcome":"mismatch","differences":[{"level":"minor","attribute":"name","latest_value":"new_name"}]}`},
		{method: "POST", path: "/api/v1/settings/declare", body: decl(`"metadata":{},"version":"1.4"`), status: 200,
			want: `{"outcome":"upgraded","previous_version":"1.3","differences":[{"level":"minor","attribute":"name","latest_value":"new_name"}]}`},
		{method: "GET", path: "/api/v1/settings/new_name", status: 200,
			want: `{"name":"size_limit","configurable_features":["user","theme"],"type":"int","default_value":200,"metadata":{},"aliases":["new_name"],"version":"1.4"}`},
		// Enum narrowing is minor; the old declaration is then outdated.
		{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"color","configurable_features":["theme"],"type":"Enum[0,1,2]","default_value":1}`, status: 200, want: created},
		{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"color","configurable_features":["theme"],"type":"Enum[0,1]","default_value":1,"version":"1.1"}`, status: 200,
			want: `{"outcome":"upgraded","previous_version":"1.0","differences":[{"level":"minor","attribute":"type","latest_value":"Enum[0,1,2]"}]}`},
		{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"color","configurable_features":["theme"],"type":"Enum[0,1,2]","default_value":1,"version":"1.0"}`, status: 200,
			want: `{"outcome":"outdated","latest_version":"1.1","differences":[{"level":"minor","attribute":"type","latest_value":"Enum[0,1]"}]}`},
		// an alias of an unrelated setting
		{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"color","alias":"new_name","configurable_features":["theme"],"type":"Enum[0,1]","default_value":1,"version":"1.1"}`, status: 409,
			want: `{"detail":"alias new_name is an alias of unrelated setting size_limit"}`},
	})
}

func TestDeclareFixFalsyDefault(t *testing.T) {
	_, srv := startEngine(t, Options{ContextFeatures: []string{"user", "theme"}, Fix: Fixes{FalsyDefaultUpgrade: true}})
	runSteps(t, srv, []step{
		{method: "POST", path: "/api/v1/settings/declare", body: declareSizeLimit, status: 200, want: created},
		{method: "POST", path: "/api/v1/settings/declare", body: decl(`"default_value":0,"version":"1.1"`), status: 200,
			want: `{"outcome":"upgraded","previous_version":"1.0","differences":[{"level":"minor","attribute":"default_value","latest_value":200}]}`},
		{method: "GET", path: "/api/v1/query?settings=size_limit", status: 200, want: `{"settings":{"size_limit":{"default_value":0,"rules":[]}}}`},
	})
}

func TestDeclareValidation(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not an object", `[1]`, `{"detail":[{"loc":["body"],"msg":"value is not a valid dict","type":"type_error.dict"}]}`},
		{"missing fields", `{}`, `{"detail":[{"loc":["body","name"],"msg":"field required","type":"value_error.missing"},{"loc":["body","configurable_features"],"msg":"field required","type":"value_error.missing"},{"loc":["body","type"],"msg":"field required","type":"value_error.missing"},{"loc":["body","default_value"],"msg":"field required","type":"value_error.missing"}]}`},
		{"type not a string", `{"name":"a","configurable_features":["user"],"type":5,"default_value":1}`,
			`{"detail":[{"loc":["body","type"],"msg":"expected string, got int","type":"value_error"}]}`},
		{"bad feature item", `{"name":"a","configurable_features":["user",[1]],"type":"int","default_value":1}`,
			`{"detail":[{"loc":["body","configurable_features",1],"msg":"str type expected","type":"type_error.str"}]}`},
		{"bad metadata key", `{"name":"a","configurable_features":["user"],"type":"int","default_value":1,"metadata":{"a b":1}}`,
			`{"detail":[{"loc":["body","metadata","__key__"],"msg":"string does not match regex \"[a-zA-Z0-9_-]+$\"","type":"value_error.str.regex","ctx":{"pattern":"[a-zA-Z0-9_-]+$"}}]}`},
		{"null default", `{"name":"a","configurable_features":["user"],"type":"int","default_value":null}`,
			`{"detail":[{"loc":["body","__root__"],"msg":"type (int) and default value (None) must match","type":"type_error"}]}`},
		{"flags not a list", `{"name":"a","configurable_features":["user"],"type":"Flags{1}","default_value":[]}`, ""},
		{"enum of an object", `{"name":"a","configurable_features":["user"],"type":"Enum{\"a\":1}","default_value":1}`,
			`{"detail":[{"loc":["body","type"],"msg":"expected list, got <class 'dict'>","type":"type_error"}]}`},
		{"flags of null", `{"name":"a","configurable_features":["user"],"type":"Sequence<Flags[null]>","default_value":[]}`,
			`{"detail":[{"loc":["body","type"],"msg":"expected a primitive type, got <class 'NoneType'>","type":"type_error"}]}`},
		{"unknown inner type", `{"name":"a","configurable_features":["user"],"type":"Mapping< integer >","default_value":{}}`,
			`{"detail":[{"loc":["body","type"],"msg":"cannot resolve setting type integer","type":"value_error"}]}`},
		{"numeric name coerced", `{"name":12,"configurable_features":["user"],"type":"int","default_value":1}`, created},
		{"unterminated", `{"name":"a`, `{"detail":[{"loc":["body",8],"msg":"Unterminated string starting at: line 1 column 9 (char 8)","type":"value_error.jsondecode","ctx":{"msg":"Unterminated string starting at","doc":"{\"name\":\"a","pos":8,"lineno":1,"colno":9}}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := startEngine(t, Options{ContextFeatures: []string{"user"}})
			status := 422
			if tc.want == created {
				status = 200
			}
			if tc.want == "" {
				tc.want = `{"detail":[{"loc":["body","type"],"msg":"Flags options: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)","type":"value_error.jsondecode"}]}`
			}
			runSteps(t, srv, []step{{method: "POST", path: "/api/v1/settings/declare", body: tc.body, status: status, want: tc.want}})
		})
	}
}
