package server

import (
	"encoding/json"
	"net/url"
	"testing"
)

var fuzzMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}

// FuzzRequests sends arbitrary requests to a seeded engine: no request may
// crash it (500), every JSON answer must be valid JSON, and a refused
// request (4xx) must leave the state untouched.
func FuzzRequests(f *testing.F) {
	for _, ex := range []struct {
		m    uint8
		path string
		body string
	}{
		{1, "/api/v1/settings/declare", declareSizeLimit},
		{1, "/api/v1/settings/declare", decl(`"version":"2.0","type":"float"`)},
		{1, "/api/v1/rules", `{"setting":"size_limit","feature_values":{"theme":"x"},"value":1}`},
		{2, "/api/v1/settings/size_limit/type", `{"type":"Enum[1,2]","version":"3.0"}`},
		{2, "/api/v1/settings/size_limit/configurable_features", `{"configurable_features":["user"],"version":"3.0"}`},
		{3, "/api/v1/context_features/theme/index", `{"to_before":"user"}`},
		{0, "/api/v1/query?settings=size_limit&context_filters=user:(me),theme:*&include_metadata=1", ""},
		{4, "/api/v1/settings/size_limit/metadata/testing", `{"version":"9.9"}`},
		{2, "/api/v1/rules/1/metadata/k", `{"value":[1,{"a":null}]}`},
		{0, "/api/v1/rules/search?setting=size_limit&feature_values=theme:bright", ""},
		{1, "/api/v1/settings/size_limit/metadata", `{"metadata":{"a":{"zz":[1e300,-0.0,{"b":1,"a":2}]},"testing":1e16},"version":"2.0"}`},
		{1, "/api/v1/rules/2/metadata", `{"metadata":{"x":-1.5e17,"y":{"":1,"aa":NaN}}}`},
	} {
		f.Add(ex.m, ex.path, []byte(ex.body))
	}
	f.Fuzz(func(t *testing.T, m uint8, path string, body []byte) {
		eng := seededEngine(t)
		before := eng.gen
		u, err := url.Parse(path)
		if err != nil {
			t.Skip()
		}
		rq := &request{method: fuzzMethods[int(m)%len(fuzzMethods)], path: u.Path, query: parseQuery(u.RawQuery), rawQuery: u.RawQuery,
			body: body, hasBody: len(body) > 0, contentType: ctypeJSON, host: "x"}
		resp := eng.route(rq)
		if resp.status >= 500 {
			t.Fatalf("%s %q %q: %d %s", rq.method, path, body, resp.status, resp.body)
		}
		if resp.ctype == ctypeJSON && !json.Valid(resp.body) {
			t.Fatalf("%s %q: invalid JSON answer %q", rq.method, path, resp.body)
		}
		if resp.status >= 400 && eng.gen != before {
			t.Fatalf("%s %q %q: refused with %d but changed state", rq.method, path, body, resp.status)
		}
	})
}
