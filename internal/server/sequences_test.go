package server

import (
	"crypto/md5"
	"encoding/hex"
	"net/http/httptest"
	"testing"
)

// etagOf is the ETag the reference sends for body: its quoted MD5.
func etagOf(body string) string {
	sum := md5.Sum([]byte(body))
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// queryStep expects a 200 query answer with exactly body and its ETag.
func queryStep(path, body string) step {
	return step{method: "GET", path: path, status: 200, want: body, wantHeader: map[string]string{"ETag": etagOf(body)}}
}

// TestSequences plays request sequences that cross endpoints, as a client
// (or the comparison with the reference) would, and checks every answer.
// Expected answers follow the reference's API; where it is silent the
// comment says what the reference's code does.
func TestSequences(t *testing.T) {
	const maxSizeDecl = `{"name":"max_size","alias":"size_limit","configurable_features":["user","theme"],"type":"int","default_value":200,"metadata":{"testing":true},"version":"1.1"}`
	sizeRules := `[{"value":10,"context_features":[["theme","bright"]],"rule_id":1},{"value":20,"context_features":[["user","me"],["theme","bright"]],"rule_id":2}]`
	tests := []struct {
		name  string
		steps []step
	}{
		{"renamed setting is reachable by old and new name everywhere", []step{
			{method: "POST", path: "/api/v1/settings/declare", body: maxSizeDecl, status: 200,
				want: `{"outcome":"upgraded","previous_version":"1.0","differences":[{"level":"minor","attribute":"name","latest_value":"size_limit"}]}`},
			{method: "GET", path: "/api/v1/settings/size_limit", status: 200,
				want: `{"name":"max_size","configurable_features":["user","theme"],"type":"int","default_value":200,"metadata":{"testing":true},"aliases":["size_limit"],"version":"1.1"}`},
			{method: "GET", path: "/api/v1/settings/size_limit/metadata", status: 200, want: `{"metadata":{"testing":true}}`},
			queryStep("/api/v1/query?settings=size_limit,max_size", `{"settings":{"max_size":{"default_value":200,"rules":`+sizeRules+`}}}`),
			queryStep("/api/v1/query?settings=size_limit", `{"settings":{"max_size":{"default_value":200,"rules":`+sizeRules+`}}}`),
			{method: "GET", path: "/api/v1/rules/search?setting=size_limit&feature_values=theme:bright,user:me", status: 200, want: `{"rule_id":2}`},
			{method: "GET", path: "/api/v1/rules/search?setting=max_size&feature_values=user:me,theme:bright", status: 200, want: `{"rule_id":2}`},
			{method: "POST", path: "/api/v1/rules", body: `{"setting":"size_limit","feature_values":{"user":"you"},"value":5}`, status: 201, want: `{"rule_id":3}`},
			{method: "GET", path: "/api/v1/rules/3", status: 200, want: `{"setting":"max_size","value":5,"feature_values":[["user","you"]],"metadata":{}}`},
			{method: "POST", path: "/api/v1/settings/size_limit/metadata", body: `{"metadata":{"owner":"ops"},"version":"1.2"}`, status: 204},
			{method: "GET", path: "/api/v1/settings/max_size/metadata", status: 200, want: `{"metadata":{"testing":true,"owner":"ops"}}`},
			{method: "PUT", path: "/api/v1/settings/size_limit/type", body: `{"type":"float","version":"2.0"}`, status: 204},
			// An old client still declaring the old name and type: every
			// difference is described backwards, name included.
			{method: "POST", path: "/api/v1/settings/declare", body: declareSizeLimit, status: 200,
				want: `{"outcome":"outdated","latest_version":"2.0","differences":[{"level":"minor","attribute":"name","latest_value":"max_size"},{"level":"minor","attribute":"metadata","latest_value":{"testing":true,"owner":"ops"}},{"level":"major","attribute":"type","latest_value":"float"}]}`},
			// Renaming back to the alias: the alias becomes the name again.
			{method: "PUT", path: "/api/v1/settings/max_size/name", body: `{"name":"size_limit","version":"2.1"}`, status: 204},
			{method: "GET", path: "/api/v1/settings/max_size", status: 200,
				want: `{"name":"size_limit","configurable_features":["user","theme"],"type":"float","default_value":200,"metadata":{"testing":true,"owner":"ops"},"aliases":["max_size"],"version":"2.1"}`},
			{method: "DELETE", path: "/api/v1/settings/max_size", status: 204},
			{method: "GET", path: "/api/v1/settings/size_limit", status: 404, want: "the setting size_limit does not exist"},
			{method: "GET", path: "/api/v1/settings/max_size/metadata", status: 404, want: "the setting max_size does not exist"},
			{method: "GET", path: "/api/v1/rules/1", status: 404},
			{method: "GET", path: "/api/v1/rules/3/metadata", status: 404},
			{method: "GET", path: "/api/v1/query?settings=max_size,size_limit", status: 404, want: "the following are not setting names: ['max_size', 'size_limit']"},
			{method: "GET", path: "/api/v1/rules/search?setting=size_limit&feature_values=theme:bright", status: 404},
			{method: "DELETE", path: "/api/v1/settings/size_limit", status: 404, want: "setting name not found"},
			{method: "PUT", path: "/api/v1/settings/size_limit/name", body: `{"name":"x","version":"9.0"}`, status: 404, want: "setting does not exist"},
			// The names are free again.
			{method: "POST", path: "/api/v1/settings/declare", body: declareSizeLimit, status: 200, want: created},
			queryStep("/api/v1/query", `{"settings":{"size_limit":{"default_value":200,"rules":[]}}}`),
		}},
		{"declaring by an alias renames back on upgrade", []step{
			{method: "POST", path: "/api/v1/settings/declare", body: maxSizeDecl, status: 200,
				want: `{"outcome":"upgraded","previous_version":"1.0","differences":[{"level":"minor","attribute":"name","latest_value":"size_limit"}]}`},
			{method: "POST", path: "/api/v1/settings/declare", body: decl(`"version":"1.1"`), status: 409,
				want: `{"outcome":"mismatch","differences":[{"level":"minor","attribute":"name","latest_value":"max_size"}]}`},
			{method: "POST", path: "/api/v1/settings/declare", body: decl(`"version":"1.2"`), status: 200,
				want: `{"outcome":"upgraded","previous_version":"1.1","differences":[{"level":"minor","attribute":"name","latest_value":"max_size"}]}`},
			{method: "GET", path: "/api/v1/settings/max_size", status: 200,
				want: `{"name":"size_limit","configurable_features":["user","theme"],"type":"int","default_value":200,"metadata":{"testing":true},"aliases":["max_size"],"version":"1.2"}`},
			queryStep("/api/v1/query?settings=max_size", `{"settings":{"size_limit":{"default_value":200,"rules":`+sizeRules+`}}}`),
		}},
		{"upgrade conflicting with rules leaves everything in place", []step{
			// str rejects the rule values 10 and 20: a mismatch, nothing stored.
			{method: "POST", path: "/api/v1/settings/declare", body: decl(`"type":"str","default_value":"x","configurable_features":["user"],"version":"2.0"`), status: 409,
				want: `{"outcome":"rejected","previous_version":"1.0","differences":[{"level":"minor","attribute":"default_value","latest_value":200},{"level":"mismatch","message":"configurable features ['theme'] are still in use by rules [2, 1]"},{"level":"mismatch","message":"setting type incompatible with values for rules: [1, 2]"}]}`},
			queryStep("/api/v1/query?settings=size_limit", `{"settings":{"size_limit":{"default_value":200,"rules":`+sizeRules+`}}}`),
			// Enum[10,20,30] is not a subtype of int, but every value fits: major.
			{method: "POST", path: "/api/v1/settings/declare", body: decl(`"type":"Enum[30,20,10]","default_value":30,"version":"1.1"`), status: 409,
				want: `{"outcome":"rejected","previous_version":"1.0","differences":[{"level":"minor","attribute":"default_value","latest_value":200},{"level":"major","attribute":"type","latest_value":"int"}]}`},
			{method: "POST", path: "/api/v1/settings/declare", body: decl(`"type":"Enum[30,20,10]","default_value":30,"version":"2.0"`), status: 200,
				want: `{"outcome":"upgraded","previous_version":"1.0","differences":[{"level":"minor","attribute":"default_value","latest_value":200},{"level":"major","attribute":"type","latest_value":"int"}]}`},
			queryStep("/api/v1/query?settings=size_limit", `{"settings":{"size_limit":{"default_value":30,"rules":`+sizeRules+`}}}`),
			{method: "POST", path: "/api/v1/rules", body: `{"setting":"size_limit","feature_values":{"user":"x"},"value":11}`, status: 400,
				want: `rule value is incompatible with setting type Enum[10,20,30]`},
			{method: "PUT", path: "/api/v1/rules/1/value", body: `{"value":10.0}`, status: 204},
			{method: "GET", path: "/api/v1/rules/1", status: 200, want: `{"setting":"size_limit","value":10.0,"feature_values":[["theme","bright"]],"metadata":{}}`},
			// Narrowing to a proper subset is minor, but rule 2 (20) is then invalid.
			{method: "PUT", path: "/api/v1/settings/size_limit/type", body: `{"type":"Enum[10,30]","version":"2.1"}`, status: 409,
				want: `{"conflicts":["rule 2 ([('user', 'me'), ('theme', 'bright')]) has incompatible value 20"]}`},
			{method: "DELETE", path: "/api/v1/rules/2", status: 204},
			{method: "PUT", path: "/api/v1/settings/size_limit/type", body: `{"type":"Enum[10,30]","version":"2.1"}`, status: 204},
			{method: "GET", path: "/api/v1/settings", status: 200, want: `{"settings":[{"name":"size_limit","type":"Enum[10,30]","default_value":30,"version":"2.1"}]}`},
		}},
		{"context features: delete in use, move, order everywhere", []step{
			{method: "DELETE", path: "/api/v1/context_features/theme", status: 409, want: "context feature can't be deleted, there is at least one setting configured by it"},
			{method: "DELETE", path: "/api/v1/context_features/nope", status: 404},
			{method: "PATCH", path: "/api/v1/context_features/user/index", body: `{"to_after":"theme"}`, status: 204},
			{method: "GET", path: "/api/v1/context_features", status: 200, want: `{"context_features":["trust","theme","user"]}`},
			{method: "GET", path: "/api/v1/context_features/user", status: 200, want: `{"index":2}`},
			{method: "GET", path: "/api/v1/settings/size_limit", status: 200,
				want: `{"name":"size_limit","configurable_features":["theme","user"],"type":"int","default_value":200,"metadata":{"testing":true},"aliases":[],"version":"1.0"}`},
			{method: "GET", path: "/api/v1/settings?include_additional_data=1", status: 200,
				want: `{"settings":[{"name":"size_limit","type":"int","default_value":200,"version":"1.0","configurable_features":["theme","user"],"metadata":{"testing":true},"aliases":[]}]}`},
			{method: "GET", path: "/api/v1/rules/2", status: 200, want: `{"setting":"size_limit","value":20,"feature_values":[["theme","bright"],["user","me"]],"metadata":{}}`},
			queryStep("/api/v1/query", `{"settings":{"size_limit":{"default_value":200,"rules":[{"value":10,"context_features":[["theme","bright"]],"rule_id":1},{"value":20,"context_features":[["theme","bright"],["user","me"]],"rule_id":2}]}}}`),
			// The outline reports features in the current hierarchy order too.
			{method: "POST", path: "/api/v1/settings/declare", body: decl(`"configurable_features":["user","theme","trust"],"version":"1.1"`), status: 409,
				want: `{"outcome":"rejected","previous_version":"1.0","differences":[{"level":"major","attribute":"configurable_features","latest_value":["theme","user"]}]}`},
			{method: "PATCH", path: "/api/v1/context_features/user/index", body: `{"to_before":"trust"}`, status: 204},
			queryStep("/api/v1/query", `{"settings":{"size_limit":{"default_value":200,"rules":`+sizeRules+`}}}`),
			{method: "DELETE", path: "/api/v1/context_features/trust", status: 204},
			{method: "GET", path: "/api/v1/context_features/theme", status: 200, want: `{"index":1}`},
			{method: "DELETE", path: "/api/v1/rules/1", status: 204},
			{method: "DELETE", path: "/api/v1/rules/2", status: 204},
			{method: "PUT", path: "/api/v1/settings/size_limit/configurable_features", body: `{"configurable_features":["user"],"version":"1.1"}`, status: 204},
			{method: "DELETE", path: "/api/v1/context_features/theme", status: 204},
			{method: "GET", path: "/api/v1/context_features", status: 200, want: `{"context_features":["user"]}`},
		}},
		{"versions on declare", []step{
			{method: "POST", path: "/api/v1/settings/declare", body: decl(`"version":"1.00"`), status: 200, want: `{"outcome":"upgraded","previous_version":"1.0","differences":[]}`},
			// "1.0" is not the stored string "1.00" and not lower: an upgrade again.
			{method: "POST", path: "/api/v1/settings/declare", body: decl(`"version":"1.0"`), status: 200, want: `{"outcome":"upgraded","previous_version":"1.00","differences":[]}`},
			{method: "POST", path: "/api/v1/settings/declare", body: decl(`"version":"01.0"`), status: 200, want: `{"outcome":"upgraded","previous_version":"1.0","differences":[]}`},
			{method: "POST", path: "/api/v1/settings/declare", body: decl(`"version":"0.9"`), status: 200, want: `{"outcome":"outdated","latest_version":"01.0","differences":[]}`},
			{method: "POST", path: "/api/v1/settings/declare", body: decl(`"version":"1.10","default_value":1`), status: 200,
				want: `{"outcome":"upgraded","previous_version":"01.0","differences":[{"level":"minor","attribute":"default_value","latest_value":200}]}`},
			{method: "POST", path: "/api/v1/settings/declare", body: decl(`"version":"1.9"`), status: 200,
				want: `{"outcome":"outdated","latest_version":"1.10","differences":[{"level":"minor","attribute":"default_value","latest_value":1}]}`},
			{method: "POST", path: "/api/v1/settings/declare", body: decl(`"version":"2.0","default_value":1`), status: 200, want: `{"outcome":"upgraded","previous_version":"1.10","differences":[]}`},
			// The metadata endpoints compare numerically: 2.00 is not newer.
			{method: "PUT", path: "/api/v1/settings/size_limit/metadata", body: `{"metadata":{},"version":"2.00"}`, status: 409, want: "The setting size_limit already has a newer version (2.0)"},
			{method: "PUT", path: "/api/v1/settings/size_limit/metadata", body: `{"metadata":{},"version":"2.01"}`, status: 204},
			{method: "GET", path: "/api/v1/settings/size_limit", status: 200,
				want: `{"name":"size_limit","configurable_features":["user","theme"],"type":"int","default_value":1,"metadata":{},"aliases":[],"version":"2.01"}`},
			// A version given as a JSON number is coerced to its Python str.
			{method: "POST", path: "/api/v1/settings/declare", body: decl(`"version":3.5,"default_value":1,"metadata":{}`), status: 200, want: `{"outcome":"upgraded","previous_version":"2.01","differences":[]}`},
			{method: "GET", path: "/api/v1/settings", status: 200, want: `{"settings":[{"name":"size_limit","type":"int","default_value":1,"version":"3.5"}]}`},
			{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"fresh","configurable_features":["user"],"type":"int","default_value":1,"version":"1.00"}`, status: 400, want: "newly created settings must have version 1.0"},
		}},
		{"ETag follows content only", []step{
			queryStep("/api/v1/query?settings=size_limit", `{"settings":{"size_limit":{"default_value":200,"rules":`+sizeRules+`}}}`),
			{method: "PUT", path: "/api/v1/rules/1/value", body: `{"value":11}`, status: 204},
			queryStep("/api/v1/query?settings=size_limit", `{"settings":{"size_limit":{"default_value":200,"rules":[{"value":11,"context_features":[["theme","bright"]],"rule_id":1},{"value":20,"context_features":[["user","me"],["theme","bright"]],"rule_id":2}]}}}`),
			{method: "PATCH", path: "/api/v1/rules/1", body: `{"value":10}`, status: 204},
			// Back to the same content: back to the same ETag.
			{method: "GET", path: "/api/v1/query?settings=size_limit", header: map[string]string{"If-None-Match": etagOf(`{"settings":{"size_limit":{"default_value":200,"rules":` + sizeRules + `}}}`)},
				status: 304, wantHeader: map[string]string{"ETag": etagOf(`{"settings":{"size_limit":{"default_value":200,"rules":` + sizeRules + `}}}`)}},
			// Rule metadata is only in the answer with include_metadata.
			{method: "PUT", path: "/api/v1/rules/1/metadata/owner", body: `{"value":"ops"}`, status: 204},
			{method: "GET", path: "/api/v1/query?settings=size_limit", header: map[string]string{"If-None-Match": etagOf(`{"settings":{"size_limit":{"default_value":200,"rules":` + sizeRules + `}}}`)},
				status: 304},
			queryStep("/api/v1/query?settings=size_limit&include_metadata=yes", `{"settings":{"size_limit":{"default_value":200,"rules":[{"value":10,"context_features":[["theme","bright"]],"rule_id":1,"metadata":{"owner":"ops"}},{"value":20,"context_features":[["user","me"],["theme","bright"]],"rule_id":2,"metadata":{}}]}}}`),
			{method: "DELETE", path: "/api/v1/rules/1/metadata", status: 204},
			queryStep("/api/v1/query?settings=size_limit&include_metadata=on", `{"settings":{"size_limit":{"default_value":200,"rules":[{"value":10,"context_features":[["theme","bright"]],"rule_id":1,"metadata":{}},{"value":20,"context_features":[["user","me"],["theme","bright"]],"rule_id":2,"metadata":{}}]}}}`),
			// Setting metadata, versions and aliases are never in the answer.
			{method: "PUT", path: "/api/v1/settings/size_limit/metadata/k", body: `{"value":1,"version":"1.1"}`, status: 204},
			{method: "PUT", path: "/api/v1/settings/size_limit/name", body: `{"name":"size_limit","version":"1.2"}`, status: 204},
			queryStep("/api/v1/query?settings=size_limit", `{"settings":{"size_limit":{"default_value":200,"rules":`+sizeRules+`}}}`),
			// A setting with no passing rule still appears.
			queryStep("/api/v1/query?settings=size_limit&context_filters=user:(nobody)", `{"settings":{"size_limit":{"default_value":200,"rules":[]}}}`),
			queryStep("/api/v1/query?settings=", `{"settings":{}}`),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := startEngine(t, Options{ContextFeatures: []string{"user", "trust", "theme"}})
			runSteps(t, srv, append(sizeLimitWithRules(), tc.steps...))
		})
	}
}

// TestMetadataStorage pins how metadata reads back (jsonb.go): values as
// JSONB returns them, keys in row order (a rewritten key moves last).
func TestMetadataStorage(t *testing.T) {
	const meta = `{"b":1,"a":{"zz":1,"b":2,"aaa":[{"yy":1,"x":2}]},"big":1e16,"neg":-0.0,"small":1.5e-7,"f":2.5,"huge":1.2345678901234568e+17,"nbig":-2e20}`
	const stored = `{"b":1,"a":{"b":2,"zz":1,"aaa":[{"x":2,"yy":1}]},"big":10000000000000000,"neg":0.0,"small":1.5e-7,"f":2.5,"huge":123456789012345680,"nbig":-200000000000000000000}`
	runSteps(t, startServer(t), []step{
		{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"s","configurable_features":["user"],"type":"int","default_value":1,"metadata":` + meta + `}`, status: 200, want: created},
		{method: "GET", path: "/api/v1/settings/s/metadata", status: 200, want: `{"metadata":` + stored + `}`},
		// Compared as Python dicts: key order and 1e16 vs 10000000000000000 do not matter.
		{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"s","configurable_features":["user"],"type":"int","default_value":1,"metadata":` + meta + `}`, status: 200, want: uptodate},
		{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"s","configurable_features":["user"],"type":"int","default_value":1,"metadata":{"b":2}}`, status: 409,
			want: `{"outcome":"mismatch","differences":[{"level":"minor","attribute":"metadata","latest_value":` + stored + `}]}`},
		{method: "PUT", path: "/api/v1/settings/s/metadata", body: `{"metadata":{"x":1,"y":2,"z":3},"version":"1.1"}`, status: 204},
		{method: "PUT", path: "/api/v1/settings/s/metadata/x", body: `{"value":{"ccc":1,"dd":2},"version":"1.2"}`, status: 204},
		{method: "GET", path: "/api/v1/settings/s/metadata", status: 200, want: `{"metadata":{"y":2,"z":3,"x":{"dd":2,"ccc":1}}}`},
		{method: "POST", path: "/api/v1/settings/s/metadata", body: `{"metadata":{"w":0,"y":2},"version":"1.3"}`, status: 204},
		{method: "GET", path: "/api/v1/settings/s", status: 200,
			want: `{"name":"s","configurable_features":["user"],"type":"int","default_value":1,"metadata":{"z":3,"x":{"dd":2,"ccc":1},"w":0,"y":2},"aliases":[],"version":"1.3"}`},
		{method: "POST", path: "/api/v1/rules", body: `{"setting":"s","feature_values":{"user":"u"},"value":2,"metadata":{"p":{"bb":1,"a":1e17},"q":1}}`, status: 201, want: `{"rule_id":1}`},
		{method: "GET", path: "/api/v1/rules/1", status: 200, want: `{"setting":"s","value":2,"feature_values":[["user","u"]],"metadata":{"p":{"a":100000000000000000,"bb":1},"q":1}}`},
		{method: "PUT", path: "/api/v1/rules/1/metadata/p", body: `{"value":0}`, status: 204},
		{method: "POST", path: "/api/v1/rules/1/metadata", body: `{"metadata":{"r":[1e16],"q":1}}`, status: 204},
		{method: "GET", path: "/api/v1/rules/1/metadata", status: 200, want: `{"metadata":{"p":0,"r":[10000000000000000],"q":1}}`},
		queryStep("/api/v1/query?include_metadata=true", `{"settings":{"s":{"default_value":1,"rules":[{"value":2,"context_features":[["user","u"]],"rule_id":1,"metadata":{"p":0,"r":[10000000000000000],"q":1}}]}}}`),
		// Values and defaults are stored as JSON text, not JSONB: untouched.
		{method: "PUT", path: "/api/v1/rules/1/value", body: `{"value":1e16}`, status: 204},
		queryStep("/api/v1/query", `{"settings":{"s":{"default_value":1,"rules":[{"value":1e16,"context_features":[["user","u"]],"rule_id":1}]}}}`),
	})
}

// startServer serves a fresh engine with the features user, trust, theme.
func startServer(t *testing.T) *httptest.Server {
	t.Helper()
	_, srv := startEngine(t, Options{ContextFeatures: []string{"user", "trust", "theme"}})
	return srv
}
