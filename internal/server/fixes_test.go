package server

import "testing"

// TestFixOptions checks each switchable reference behaviour: the default
// reproduces the reference, the option gives the intended answer.
func TestFixOptions(t *testing.T) {
	etag := `"fdc70956e7cac39ecdd050f029ffd8ce"`
	declA := step{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"a","configurable_features":["user"],"type":"int","default_value":1}`, status: 200, want: created}
	tests := []struct {
		name      string
		opts      Options
		reference step
		fixed     step
	}{
		{"etag substring", Options{Fix: Fixes{ETagMatching: true}},
			step{method: "GET", path: "/api/v1/query", header: map[string]string{"If-None-Match": "x" + etag + "x"}, status: 304},
			step{method: "GET", path: "/api/v1/query", header: map[string]string{"If-None-Match": "x" + etag + "x"}, status: 200, want: `{"settings":{"a":{"default_value":1,"rules":[]}}}`}},
		{"version equality", Options{Fix: Fixes{VersionEquality: true}},
			step{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"a","configurable_features":["user"],"type":"int","default_value":1,"version":"1.00"}`, status: 200, want: `{"outcome":"upgraded","previous_version":"1.0","differences":[]}`},
			step{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"a","configurable_features":["user"],"type":"int","default_value":1,"version":"1.00"}`, status: 200, want: uptodate}},
		{"rename at equal version", Options{Fix: Fixes{RenameVersion: true}},
			step{method: "PUT", path: "/api/v1/settings/a/name", body: `{"name":"b","version":"1.0"}`, status: 204},
			step{method: "PUT", path: "/api/v1/settings/a/name", body: `{"name":"b","version":"1.0"}`, status: 409, want: "The setting a already has a newer version (1.0)"}},
		{"empty rule metadata merge", Options{Fix: Fixes{EmptyRuleMetadataMerge: true}},
			step{method: "POST", path: "/api/v1/rules/9/metadata", body: `{"metadata":{}}`, status: 204},
			step{method: "POST", path: "/api/v1/rules/9/metadata", body: `{"metadata":{}}`, status: 404}},
		{"unknown rule setting", Options{Fix: Fixes{UnknownRuleSetting: true}},
			step{method: "POST", path: "/api/v1/rules", body: `{"setting":"z","feature_values":{"user":"u"},"value":1}`, status: 422, want: "setting not found with name z"},
			step{method: "POST", path: "/api/v1/rules", body: `{"setting":"z","feature_values":{"user":"u"},"value":1}`, status: 404, want: "setting not found with name z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, fix := range []bool{false, true} {
				opts, want := Options{}, tc.reference
				if fix {
					opts, want = tc.opts, tc.fixed
				}
				opts.ContextFeatures = []string{"user"}
				_, srv := startEngine(t, opts)
				runSteps(t, srv, []step{declA, want})
			}
		})
	}
}

func TestFixBoolNumberEqualityInDeclarations(t *testing.T) {
	base := `{"name":"e","configurable_features":["user"],"type":"Enum[1,true]","default_value":true,"metadata":{"m":false}}`
	same := `{"name":"e","configurable_features":["user"],"type":"Enum[1,true]","default_value":1,"metadata":{"m":0}}`
	tests := []struct {
		name   string
		fix    bool
		status int
		want   string
	}{
		{"python equality", false, 200, uptodate},
		{"json equality", true, 409, `{"outcome":"mismatch","differences":[{"level":"minor","attribute":"default_value","latest_value":true},{"level":"minor","attribute":"metadata","latest_value":{"m":false}}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := startEngine(t, Options{ContextFeatures: []string{"user"}, Fix: Fixes{BoolNumberEquality: tc.fix}})
			runSteps(t, srv, []step{
				{method: "POST", path: "/api/v1/settings/declare", body: base, status: 200, want: created},
				{method: "POST", path: "/api/v1/settings/declare", body: same, status: tc.status, want: tc.want},
			})
		})
	}
}

func TestParseFixes(t *testing.T) {
	tests := []struct {
		name, in string
		want     Fixes
		err      bool
	}{
		{"none", "", Fixes{}, false},
		{"two", "etag, filter-keys", Fixes{ETagMatching: true, LowercaseFilterKeys: true}, false},
		{"all", "all", Fixes{true, true, true, true, true, true, true, true}, false},
		{"unknown", "etag,nope", Fixes{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFixes(tc.in)
			if (err != nil) != tc.err || got != tc.want {
				t.Fatalf("ParseFixes(%q) = %+v, %v", tc.in, got, err)
			}
		})
	}
	if len(FixNames()) != len(fixNames) {
		t.Fatal("FixNames and fixNames disagree")
	}
}
