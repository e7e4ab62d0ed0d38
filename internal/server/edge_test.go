package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestFilterEdgeCases pins context_filters parsing: the grammar (422),
// repeated keys (400), unknown features (dropped) and the reference's
// lower-case key reading (reference bug 2, docs/DEVSERVER.md), with and without the fix.
func TestFilterEdgeCases(t *testing.T) {
	setup := []step{
		{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"s","configurable_features":["theme","build_id","Tenant","v2"],"type":"str","default_value":"d"}`, status: 200, want: created},
		{method: "POST", path: "/api/v1/rules", body: `{"setting":"s","feature_values":{"theme":"dark"},"value":"a"}`, status: 201, want: `{"rule_id":1}`},
		{method: "POST", path: "/api/v1/rules", body: `{"setting":"s","feature_values":{"build_id":"b1"},"value":"b"}`, status: 201, want: `{"rule_id":2}`},
		{method: "POST", path: "/api/v1/rules", body: `{"setting":"s","feature_values":{"Tenant":"T1"},"value":"c"}`, status: 201, want: `{"rule_id":3}`},
		{method: "POST", path: "/api/v1/rules", body: `{"setting":"s","feature_values":{"v2":"x"},"value":"e"}`, status: 201, want: `{"rule_id":4}`},
	}
	r1 := `{"value":"a","context_features":[["theme","dark"]],"rule_id":1}`
	r2 := `{"value":"b","context_features":[["build_id","b1"]],"rule_id":2}`
	r3 := `{"value":"c","context_features":[["Tenant","T1"]],"rule_id":3}`
	r4 := `{"value":"e","context_features":[["v2","x"]],"rule_id":4}`
	answer := func(rules ...string) string {
		return `{"settings":{"s":{"default_value":"d","rules":[` + strings.Join(rules, ",") + `]}}}`
	}
	tests := []struct {
		name    string
		filters string // raw, already URL-encoded where needed
		fixed   bool
		status  int
		want    string
	}{
		{"absent means all", "", false, 200, answer(r1, r2, r3, r4)},
		{"star", "*", false, 200, answer(r1, r2, r3, r4)},
		{"empty means none", "=", false, 200, answer()},
		{"one value", "=theme:(dark)", false, 200, answer(r1)},
		{"value not listed", "=theme:(light,dim)", false, 200, answer()},
		{"repeated value", "=theme:(dark,dark)", false, 200, answer(r1)},
		{"percent-encoded", "=theme%3A%28dark%29", false, 200, answer(r1)},
		{"unknown feature dropped", "=planet:*,theme:*", false, 200, answer(r1)},
		{"only unknown features", "=planet:*", false, 200, answer()},
		// build_id is read as "id", Tenant as "enant", v2 as "v": unknown.
		{"underscore key misread", "=build_id:(b1)", false, 200, answer()},
		{"upper-case key misread", "=Tenant:*", false, 200, answer()},
		{"digit key misread", "=v2:*", false, 200, answer()},
		{"misread keys collide", "=build_id:*,id:*", false, 400, "context name repeated in context filter: id"},
		{"prefix makes a repeat", "=Xtheme:*,theme:(dark)", false, 400, "context name repeated in context filter: theme"},
		{"longer lower-case run is another key", "=xtheme:*,theme:(dark)", false, 200, answer(r1)},
		{"repeated key", "=theme:*,theme:(dark)", false, 400, "context name repeated in context filter: theme"},
		{"fixed underscore key", "=build_id:(b1)", true, 200, answer(r2)},
		{"fixed upper-case key", "=Tenant:*,theme:*", true, 200, answer(r1, r3)},
		{"fixed digit key", "=v2:(x)", true, 200, answer(r4)},
		{"fixed: case matters", "=tenant:*", true, 200, answer()},
		{"fixed: distinct keys", "=build_id:*,id:*", true, 200, answer(r2)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := startEngine(t, Options{ContextFeatures: []string{"theme", "build_id", "Tenant", "v2"}, Fix: Fixes{LowercaseFilterKeys: tc.fixed}})
			path := "/api/v1/query?settings=s"
			if tc.filters != "" {
				path += "&context_filters" + tc.filters
			}
			st := step{method: "GET", path: path, status: tc.status, want: tc.want}
			if tc.status == 200 {
				st = queryStep(path, tc.want)
			}
			runSteps(t, srv, append(slices.Clone(setup), st))
		})
	}

	bad := []string{"theme:()", "theme:(a-b)", "theme:(dark", "theme:dark", " theme:*", "theme:*,", "*,theme:*", "**",
		"theme:(da rk)", "theme:(x),", ",", "theme:(x)(y)", "theme:('1'='1')", "thème:*", "theme:(é)", "theme:**"}
	for _, f := range bad {
		t.Run("syntax "+f, func(t *testing.T) {
			_, srv := startEngine(t, Options{ContextFeatures: []string{"theme"}})
			code, body := get(t, srv.URL+"/api/v1/query?context_filters="+url.QueryEscape(f))
			wantValidation(t, code, body, []string{`["query","context_filters"]`}, []string{"value_error.str.regex"})
		})
	}
}

// get fetches url and returns status and body.
func get(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// wantValidation checks a 422 answer of kind V: the loc (as compact JSON)
// and type of every entry, in order.
func wantValidation(t *testing.T, code int, body []byte, locs, types []string) {
	t.Helper()
	if code != 422 {
		t.Fatalf("status %d %s, want 422", code, body)
	}
	var out struct {
		Detail []struct {
			Loc  json.RawMessage `json:"loc"`
			Type string          `json:"type"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var gotLocs, gotTypes []string
	for _, d := range out.Detail {
		gotLocs = append(gotLocs, string(d.Loc))
		gotTypes = append(gotTypes, d.Type)
	}
	if !slices.Equal(gotLocs, locs) || !slices.Equal(gotTypes, types) {
		t.Fatalf("got locs %v types %v, want %v %v\n%s", gotLocs, gotTypes, locs, types, body)
	}
}

// TestWrongFieldTypes sends, to every endpoint with a body, members of the
// wrong JSON kind and checks the loc and type of each validation error the
// way pydantic v1 reports them (numbers and booleans are coerced to str
// where a str is expected, so they are not errors).
func TestWrongFieldTypes(t *testing.T) {
	type call struct {
		method, path, body string
		locs, types        []string
	}
	b := func(field ...string) string { return `["body","` + strings.Join(field, `","`) + `"]` }
	tests := []call{
		{"POST", "/api/v1/context_features", `{"context_feature":null}`, []string{b("context_feature")}, []string{"type_error.none.not_allowed"}},
		{"POST", "/api/v1/context_features", `{"context_feature":["x"]}`, []string{b("context_feature")}, []string{"type_error.str"}},
		{"POST", "/api/v1/context_features", `{"context_feature":{}}`, []string{b("context_feature")}, []string{"type_error.str"}},
		{"POST", "/api/v1/settings/declare", `{"name":[],"configurable_features":"user","type":"int","default_value":1,"metadata":[],"alias":{},"version":2}`,
			[]string{b("name"), b("configurable_features"), b("metadata"), b("alias"), b("version")},
			[]string{"type_error.str", "type_error.list", "type_error.dict", "type_error.str", "value_error.str.regex"}},
		{"POST", "/api/v1/settings/declare", `{"name":"a","configurable_features":{"user":1},"type":["int"],"default_value":1,"version":null}`,
			[]string{b("configurable_features"), b("type"), b("version")},
			[]string{"type_error.list", "value_error", "type_error.none.not_allowed"}},
		{"POST", "/api/v1/settings/declare", `{"name":"a","configurable_features":[],"type":"int","default_value":1}`,
			[]string{b("configurable_features")}, []string{"value_error.list.min_items"}},
		{"POST", "/api/v1/settings/declare", `{"name":"a","configurable_features":[null,"a-b"],"type":"int","default_value":1}`,
			[]string{`["body","configurable_features",0]`, `["body","configurable_features",1]`}, []string{"type_error.none.not_allowed", "value_error.str.regex"}},
		{"POST", "/api/v1/settings/declare", `{"name":"a","configurable_features":["user"],"type":"int","default_value":"1"}`,
			[]string{b("__root__")}, []string{"type_error"}},
		{"PUT", "/api/v1/settings/size_limit/type", `{"type":null,"version":[1]}`, []string{b("type"), b("version")}, []string{"type_error.none.not_allowed", "type_error.str"}},
		{"PUT", "/api/v1/settings/size_limit/name", `{"name":{},"version":1.5}`, []string{b("name")}, []string{"type_error.str"}},
		{"PUT", "/api/v1/settings/size_limit/configurable_features", `{"configurable_features":[[]],"version":"x"}`,
			[]string{`["body","configurable_features",0]`, b("version")}, []string{"type_error.str", "value_error.str.regex"}},
		{"PUT", "/api/v1/settings/size_limit/configurable_features", `{"configurable_features":null}`,
			[]string{b("configurable_features"), b("version")}, []string{"type_error.none.not_allowed", "value_error.missing"}},
		{"POST", "/api/v1/settings/size_limit/metadata", `{"metadata":"x","version":"2.0"}`, []string{b("metadata")}, []string{"type_error.dict"}},
		{"PUT", "/api/v1/settings/size_limit/metadata", `{"metadata":null,"version":"2.0"}`, []string{b("metadata")}, []string{"type_error.none.not_allowed"}},
		{"PUT", "/api/v1/settings/size_limit/metadata/k", `{"version":"2.0"}`, []string{b("value")}, []string{"value_error.missing"}},
		{"PUT", "/api/v1/settings/size_limit/metadata/a.b", `{"value":1,"version":"2.0"}`, []string{`["path","key"]`}, []string{"value_error.str.regex"}},
		{"DELETE", "/api/v1/settings/size_limit/metadata", `{"version":true}`, []string{b("version")}, []string{"value_error.str.regex"}},
		{"DELETE", "/api/v1/settings/size_limit/metadata/k", `{}`, []string{b("version")}, []string{"value_error.missing"}},
		{"POST", "/api/v1/rules", `{"setting":-1,"feature_values":[],"metadata":{"a b":1}}`,
			[]string{b("setting"), b("feature_values"), b("value"), `["body","metadata","__key__"]`},
			[]string{"value_error.str.regex", "type_error.dict", "value_error.missing", "value_error.str.regex"}},
		{"POST", "/api/v1/rules", `{"setting":"size_limit","feature_values":{"theme":5,"user":null},"value":1}`,
			[]string{`["body","feature_values","user"]`}, []string{"type_error.none.not_allowed"}},
		{"POST", "/api/v1/rules", `{"setting":"size_limit","feature_values":{},"value":1}`, []string{b("feature_values")}, []string{"value_error"}},
		{"PUT", "/api/v1/rules/1/value", `{"val":1}`, []string{b("value")}, []string{"value_error.missing"}},
		{"PATCH", "/api/v1/rules/x", `{"value":1}`, []string{`["path","rule_id"]`}, []string{"type_error.integer"}},
		{"POST", "/api/v1/rules/1/metadata", `{"metadata":[1]}`, []string{b("metadata")}, []string{"type_error.dict"}},
		{"PUT", "/api/v1/rules/1/metadata", `{"metadata":{"ok":1,"not ok":2}}`, []string{`["body","metadata","__key__"]`}, []string{"value_error.str.regex"}},
		{"PUT", "/api/v1/rules/1.5/metadata/k", `{}`, []string{`["path","rule_id"]`, b("value")}, []string{"type_error.integer", "value_error.missing"}},
		{"DELETE", "/api/v1/rules/1/metadata/k%20k", ``, []string{`["path","key"]`}, []string{"value_error.str.regex"}},
		{"PATCH", "/api/v1/context_features/theme/index", `{"to_after":null}`,
			[]string{b("to_after"), b("to_before")}, []string{"type_error.none.not_allowed", "value_error.missing"}},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path+" "+tc.body, func(t *testing.T) {
			_, srv := startEngine(t, Options{ContextFeatures: []string{"user", "trust", "theme"}})
			runSteps(t, srv, sizeLimitWithRules())
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantValidation(t, resp.StatusCode, got, tc.locs, tc.types)
		})
	}
}

// TestRawQueryStrings pins how a raw query string is read (Starlette's
// parse_qsl): ";" is part of a value and an invalid percent escape stays
// as written, so both reach validation (422) instead of the parameter
// being dropped; a name without "=" has an empty value.
func TestRawQueryStrings(t *testing.T) {
	all := `{"settings":{"size_limit":{"default_value":200,"rules":[{"value":10,"context_features":[["theme","bright"]],"rule_id":1},{"value":20,"context_features":[["user","me"],["theme","bright"]],"rule_id":2}]}}}`
	tests := []struct {
		name, query string
		status      int
		want        string
		loc         string
	}{
		{"semicolon in filters", "context_filters=theme:(bright;x)", 422, "", `["query","context_filters"]`},
		{"semicolon between parameters", "context_filters=theme:(x);settings=size_limit", 422, "", `["query","context_filters"]`},
		{"invalid escape in filters", "context_filters=theme:(%zz)", 422, "", `["query","context_filters"]`},
		{"semicolon in settings", "settings=size_limit;x", 422, "", `["query","settings"]`},
		{"semicolon in a boolean", "include_metadata=true;x", 422, "", `["query","include_metadata"]`},
		{"name without value: settings", "settings", 200, `{"settings":{}}`, ""},
		{"name without value: filters", "context_filters&settings=size_limit", 200, `{"settings":{"size_limit":{"default_value":200,"rules":[]}}}`, ""},
		{"plus is a space", "context_filters=theme:(bright)+", 422, "", `["query","context_filters"]`},
		{"escaped name", "%73ettings=size_limit&context_filters=%74heme:*", 200,
			`{"settings":{"size_limit":{"default_value":200,"rules":[{"value":10,"context_features":[["theme","bright"]],"rule_id":1}]}}}`, ""},
		{"empty pairs", "&&settings=size_limit&&", 200, all, ""},
		{"last repeated value wins", "settings=nope&settings=size_limit", 200, all, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := startEngine(t, Options{ContextFeatures: []string{"user", "trust", "theme"}})
			runSteps(t, srv, sizeLimitWithRules())
			code, body := get(t, srv.URL+"/api/v1/query?"+tc.query)
			if tc.status == 422 {
				wantValidation(t, code, body, []string{tc.loc}, []string{map[bool]string{true: "type_error.bool", false: "value_error.str.regex"}[strings.Contains(tc.loc, "include")]})
				return
			}
			if code != tc.status || string(body) != tc.want {
				t.Fatalf("got %d %s, want %d %s", code, body, tc.status, tc.want)
			}
		})
	}
}

// TestBodyEncodings pins how body bytes are read (FastAPI passes them to
// Python's json.loads): the encoding is detected (BOM, UTF-16/32 by zero
// bytes), bytes that are not text give FastAPI's 400, and a JSON null body
// counts as no body.
func TestBodyEncodings(t *testing.T) {
	utf16le := func(s string) string {
		var b []byte
		for _, r := range s {
			b = append(b, byte(r), 0)
		}
		return string(b)
	}
	utf32be := func(s string) string {
		var b []byte
		for _, r := range s {
			b = append(b, 0, 0, 0, byte(r))
		}
		return string(b)
	}
	feature := `{"context_feature":"extra"}`
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"utf-8 BOM", "\xef\xbb\xbf" + feature, 204, ""},
		{"utf-16le without BOM", utf16le(feature), 204, ""},
		{"utf-16le with BOM", "\xff\xfe" + utf16le(feature), 204, ""},
		{"utf-32be without BOM", utf32be(feature), 204, ""},
		{"invalid utf-8", `{"context_feature":"` + "\xff" + `"}`, 400, `{"detail":"There was an error parsing the body"}`},
		{"odd utf-16", "\xff\xfe{\x00\x00", 400, `{"detail":"There was an error parsing the body"}`},
		{"null body", `null`, 422, `{"detail":[{"loc":["body"],"msg":"field required","type":"value_error.missing"}]}`},
		{"string body", `"x"`, 422, `{"detail":[{"loc":["body"],"msg":"value is not a valid dict","type":"type_error.dict"}]}`},
		{"BOM kept out of the error document", "\xef\xbb\xbf{", 422,
			`{"detail":[{"loc":["body",1],"msg":"Expecting property name enclosed in double quotes: line 1 column 2 (char 1)","type":"value_error.jsondecode","ctx":{"msg":"Expecting property name enclosed in double quotes","doc":"{","pos":1,"lineno":1,"colno":2}}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := startEngine(t, Options{ContextFeatures: []string{"user"}})
			steps := []step{{method: "POST", path: "/api/v1/context_features", body: tc.body, status: tc.status, want: tc.want}}
			if tc.status == 204 {
				steps = append(steps, step{method: "GET", path: "/api/v1/context_features", status: 200, want: `{"context_features":["user","extra"]}`})
			}
			runSteps(t, srv, steps)
		})
	}
	// The undecodable body is reported before a bad path parameter, as
	// FastAPI reads the body first.
	_, srv := startEngine(t, Options{ContextFeatures: []string{"user"}})
	runSteps(t, srv, []step{{method: "PUT", path: "/api/v1/rules/x/value", body: "\xff", status: 400, want: `{"detail":"There was an error parsing the body"}`},
		{method: "PATCH", path: "/api/v1/context_features/user/index", body: "null", status: 422, want: `{"detail":[{"loc":["body"],"msg":"field required","type":"value_error.missing"}]}`}})
}
