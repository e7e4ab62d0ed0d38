package server

import (
	"fmt"
	"io"
	"net/http"
	"testing"
)

// filterScenario is the reference documentation's context_filters example.
func filterScenario() []step {
	steps := []step{{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"s","configurable_features":["X","Y","Z"],"type":"int","default_value":0}`, status: 200, want: created}}
	conds := []string{`{"X":"x0"}`, `{"X":"x1"}`, `{"X":"x0","Y":"y0"}`, `{"X":"x0","Y":"y1"}`, `{"X":"x2","Y":"y0"}`, `{"Z":"z0"}`, `{"X":"x0","Z":"z0"}`}
	for i, c := range conds {
		steps = append(steps, step{method: "POST", path: "/api/v1/rules", body: fmt.Sprintf(`{"setting":"s","feature_values":%s,"value":%d}`, c, i+1),
			status: 201, want: fmt.Sprintf(`{"rule_id":%d}`, i+1)})
	}
	return steps
}

func ruleIDsBody(ids ...int) string {
	rules := map[int]string{
		1: `{"value":1,"context_features":[["X","x0"]],"rule_id":1}`,
		2: `{"value":2,"context_features":[["X","x1"]],"rule_id":2}`,
		3: `{"value":3,"context_features":[["X","x0"],["Y","y0"]],"rule_id":3}`,
		4: `{"value":4,"context_features":[["X","x0"],["Y","y1"]],"rule_id":4}`,
	}
	out := `{"settings":{"s":{"default_value":0,"rules":[`
	for i, id := range ids {
		if i > 0 {
			out += ","
		}
		out += rules[id]
	}
	return out + `]}}}`
}

func TestQueryFilters(t *testing.T) {
	// Upper-case feature names: with the reference's key reading they are
	// never matched, so filtered queries return no rule.
	t.Run("reference key reading", func(t *testing.T) {
		_, srv := startEngine(t, Options{ContextFeatures: []string{"X", "Y", "Z"}})
		runSteps(t, srv, append(filterScenario(),
			step{method: "GET", path: "/api/v1/query?context_filters=X:(x0,x1),Y:*", status: 200, want: ruleIDsBody()},
		))
	})
	t.Run("fixed key reading", func(t *testing.T) {
		_, srv := startEngine(t, Options{ContextFeatures: []string{"X", "Y", "Z"}, Fix: Fixes{LowercaseFilterKeys: true}})
		runSteps(t, srv, append(filterScenario(),
			step{method: "GET", path: "/api/v1/query?context_filters=X:(x0,x1),Y:*", status: 200, want: ruleIDsBody(1, 2, 3, 4)},
			step{method: "GET", path: "/api/v1/query?context_filters=X:(x0),Y:(y1)", status: 200, want: ruleIDsBody(1, 4)},
			step{method: "GET", path: "/api/v1/query?context_filters=X:(x0),X:*", status: 400, want: "context name repeated in context filter: X"},
		))
	})
	t.Run("lower-case names", func(t *testing.T) {
		_, srv := startEngine(t, Options{ContextFeatures: []string{"x", "y"}})
		runSteps(t, srv, []step{
			{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"s","configurable_features":["x","y"],"type":"int","default_value":0}`, status: 200, want: created},
			{method: "POST", path: "/api/v1/rules", body: `{"setting":"s","feature_values":{"x":"a"},"value":1}`, status: 201, want: `{"rule_id":1}`},
			{method: "POST", path: "/api/v1/rules", body: `{"setting":"s","feature_values":{"x":"b","y":"c"},"value":2}`, status: 201, want: `{"rule_id":2}`},
			{method: "GET", path: "/api/v1/query?context_filters=x:(a,b),y:*&include_metadata=on", status: 200,
				want: `{"settings":{"s":{"default_value":0,"rules":[{"value":1,"context_features":[["x","a"]],"rule_id":1,"metadata":{}},{"value":2,"context_features":[["x","b"],["y","c"]],"rule_id":2,"metadata":{}}]}}}`},
			{method: "GET", path: "/api/v1/query?context_filters=x:(b)", status: 200, want: `{"settings":{"s":{"default_value":0,"rules":[]}}}`},
			{method: "GET", path: "/api/v1/query?context_filters=x:()", status: 422,
				want: `{"detail":[{"loc":["query","context_filters"],"msg":"string does not match regex \"` + jsonEscaped(filtersPatternText) + `\"","type":"value_error.str.regex","ctx":{"pattern":"` + jsonEscaped(filtersPatternText) + `"}}]}`},
			{method: "GET", path: "/api/v1/query?settings=s,&include_metadata=x", status: 422,
				want: `{"detail":[{"loc":["query","settings"],"msg":"string does not match regex \"([a-zA-Z_0-9.]+(,[a-zA-Z_0-9.]+)*)?$\"","type":"value_error.str.regex","ctx":{"pattern":"([a-zA-Z_0-9.]+(,[a-zA-Z_0-9.]+)*)?$"}},{"loc":["query","include_metadata"],"msg":"value could not be parsed to a boolean","type":"type_error.bool"}]}`},
			{method: "GET", path: "/api/v1/query?settings=a,b,a", status: 404, want: "the following are not setting names: ['a', 'b']"},
		})
	})
}

func jsonEscaped(s string) string {
	b := str(s).AppendJSON(nil)
	return string(b[1 : len(b)-1])
}

func TestQueryETag(t *testing.T) {
	_, srv := startEngine(t, Options{ContextFeatures: []string{"user"}})
	body := `{"settings":{"a":{"default_value":1,"rules":[]}}}`
	etag := `"fdc70956e7cac39ecdd050f029ffd8ce"`
	ok := step{method: "GET", path: "/api/v1/query", status: 200, want: body, wantHeader: map[string]string{"ETag": etag, "Content-Type": "application/json"}}
	notModified := func(h string) step {
		return step{method: "GET", path: "/api/v1/query", header: map[string]string{"If-None-Match": h}, status: 304,
			wantHeader: map[string]string{"ETag": etag, "Content-Type": "", "Content-Length": ""}}
	}
	modified := func(h string) step {
		s := ok
		s.header = map[string]string{"If-None-Match": h}
		return s
	}
	runSteps(t, srv, []step{
		{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"a","configurable_features":["user"],"type":"int","default_value":1}`, status: 200, want: created},
		ok,
		notModified(etag),
		notModified("*"),
		notModified(`W/` + etag),
		notModified(`"x", ` + etag),
		modified(etag[1 : len(etag)-1]),
		modified(`"other"`),
		{method: "PUT", path: "/api/v1/settings/a/metadata", body: `{"metadata":{"x":1},"version":"1.1"}`, status: 204},
		notModified(etag), // metadata is not part of the answer
		{method: "POST", path: "/api/v1/rules", body: `{"setting":"a","feature_values":{"user":"u"},"value":2}`, status: 201, want: `{"rule_id":1}`},
		{method: "GET", path: "/api/v1/query", header: map[string]string{"If-None-Match": etag}, status: 200,
			want: `{"settings":{"a":{"default_value":1,"rules":[{"value":2,"context_features":[["user","u"]],"rule_id":1}]}}}`},
	})
}

func TestRouting(t *testing.T) {
	_, srv := startEngine(t, Options{ContextFeatures: []string{"user"}})
	runSteps(t, srv, []step{
		{method: "GET", path: "/api/v1/nope", status: 404, want: `{"detail":"Not Found"}`},
		{method: "GET", path: "/", status: 404, want: `{"detail":"Not Found"}`},
		{method: "DELETE", path: "/api/v1/query", status: 405, want: `{"detail":"Method Not Allowed"}`, wantHeader: map[string]string{"Allow": "GET, HEAD"}},
		{method: "POST", path: "/api/v1/settings", status: 405, want: `{"detail":"Method Not Allowed"}`},
		{method: "GET", path: "/api/v1/settings/declare", status: 404, want: "the setting declare does not exist"},
		{method: "GET", path: "/api/v1/context_features/?x=1", status: 307, wantHeader: map[string]string{"Location": srv.URL + "/api/v1/context_features?x=1"}},
		{method: "POST", path: "/api/v1/settings/declare/", status: 307, wantHeader: map[string]string{"Location": srv.URL + "/api/v1/settings/declare"}},
		{method: "HEAD", path: "/api/health", status: 200},
		{method: "GET", path: "/api/v1/settings?include_additional_data=maybe", status: 422,
			want: `{"detail":[{"loc":["query","include_additional_data"],"msg":"value could not be parsed to a boolean","type":"type_error.bool"}]}`},
		{method: "POST", path: "/api/v1/context_features", body: "", status: 422, want: `{"detail":[{"loc":["body"],"msg":"field required","type":"value_error.missing"}]}`},
	})
}

// TestIfNoneMatchRepeatedHeader pins a request carrying If-None-Match
// twice: the reference reads the first line only (Starlette's
// headers.get), so an ETag in the second line does not give a 304; with
// the ETag fix every line counts, as RFC 9110 reads repeated lines.
func TestIfNoneMatchRepeatedHeader(t *testing.T) {
	body := `{"settings":{"a":{"default_value":1,"rules":[]}}}`
	etag := etagOf(body)
	tests := []struct {
		name   string
		fix    bool
		lines  []string
		status int
	}{
		{"etag in the first line", false, []string{etag, `"x"`}, 304},
		{"etag in the second line", false, []string{`"x"`, etag}, 200},
		{"star in the second line", false, []string{`"x"`, "*"}, 200},
		{"fixed: etag in the second line", true, []string{`"x"`, etag}, 304},
		{"fixed: star in the second line", true, []string{`"x"`, "*"}, 304},
		{"fixed: neither", true, []string{`"x"`, `"y"`}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := startEngine(t, Options{ContextFeatures: []string{"user"}, Fix: Fixes{ETagMatching: tc.fix}})
			runSteps(t, srv, []step{{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"a","configurable_features":["user"],"type":"int","default_value":1}`, status: 200, want: created}})
			req, err := http.NewRequest("GET", srv.URL+"/api/v1/query", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range tc.lines {
				req.Header.Add("If-None-Match", l)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || resp.Header.Get("ETag") != etag {
				t.Fatalf("got %d (ETag %s) %s, want %d", resp.StatusCode, resp.Header.Get("ETag"), got, tc.status)
			}
		})
	}
}
