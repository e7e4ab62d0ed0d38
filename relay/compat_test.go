package relay_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/internal/wire"
	"github.com/heksher-go/heksher/relay"
)

// newUpstream starts a compatible server with settings, aliases, metadata
// in a deliberate key order and rules with metadata.
func newUpstream(t *testing.T, opts ...hekshertest.Option) *hekshertest.Server {
	t.Helper()
	up := hekshertest.NewServer(t, append(opts, hekshertest.WithContextFeatures("user", "trust", "theme"),
		hekshertest.WithSettings(
			hekshertest.Setting{Name: "size_limit", Type: "int", Default: 200, ConfigurableFeatures: []string{"user", "theme"},
				Rules: []hekshertest.Rule{
					{Conditions: map[string]string{"theme": "bright"}, Value: 10, Metadata: map[string]any{"by": "ops"}},
					{Conditions: map[string]string{"user": "me", "theme": "bright"}, Value: 20},
					{Conditions: map[string]string{"user": "you"}, Value: 30},
				}},
			hekshertest.Setting{Name: "color", Type: `Enum["blue","green","red"]`, Default: "blue", ConfigurableFeatures: []string{"trust"},
				Rules: []hekshertest.Rule{{Conditions: map[string]string{"trust": "high"}, Value: "red"}}},
			hekshertest.Setting{Name: "ratio", Type: "float", Default: 1.5, ConfigurableFeatures: []string{"user", "trust", "theme"}},
		))...)
	ctx := context.Background()
	// Metadata whose keys are not in sorted order, to check that the
	// order survives the trip.
	_, err := up.Do(ctx, http.MethodPost, "/api/v1/settings/declare", json.RawMessage(
		`{"name":"flags","configurable_features":["user"],"type":"Flags[\"a\",\"b\"]","default_value":["a"],"metadata":{"zeta":1,"alpha":{"y":2,"x":[1,2]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.Do(ctx, http.MethodPut, "/api/v1/settings/ratio/name", map[string]any{"name": "fraction", "version": "1.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := up.AddRuleWithMetadata("flags", map[string]string{"user": "me"}, []string{"b", "a"}, map[string]any{"z": true, "a": "x"}); err != nil {
		t.Fatal(err)
	}
	return up
}

// newRelay starts a relay of upstream with a listener and waits for its
// first snapshot.
func newRelay(t *testing.T, upstream string, opts relay.Options) (*relay.Relay, *relay.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts.Upstream = upstream
	r, err := relay.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	if err := r.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err := r.Listen(ctx, relay.ListenOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Connections the client's transport dialled in a race and never
		// used would hold up the server's graceful shutdown for 5 s.
		http.DefaultClient.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return r, srv
}

type answer struct {
	status      int
	body        string
	etag, ctype string
	header      http.Header
}

func do(t *testing.T, method, url string, header http.Header, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, body: string(b), etag: resp.Header.Get("ETag"),
		ctype: resp.Header.Get("Content-Type"), header: resp.Header}
}

// TestByteCompat runs the same reads against the compatible server and a
// relay mirroring it: status, body, content type and ETag must be equal.
func TestByteCompat(t *testing.T) {
	up := newUpstream(t)
	_, srv := newRelay(t, up.URL, relay.Options{Interval: time.Hour})

	etagOf := func(path string) string {
		return do(t, http.MethodGet, up.URL+path, nil, "").etag
	}
	allMeta := etagOf("/api/v1/query?include_metadata=true")
	some := etagOf("/api/v1/query?settings=size_limit,color")
	if allMeta == "" || some == "" {
		t.Fatal("no ETag from the upstream")
	}

	queries := []string{
		"", "?settings=", "?settings=size_limit", "?settings=size_limit,color", "?settings=color,size_limit,size_limit",
		"?settings=ratio", "?settings=fraction,ratio", "?settings=nope", "?settings=nope,size_limit,other",
		"?settings=bad%20name", "?settings=a,,b", "?context_filters=*", "?context_filters=", "?context_filters=user:(me)",
		"?context_filters=user:(me,you),theme:*", "?context_filters=theme:(bright)", "?context_filters=user:*,user:(me)",
		"?context_filters=user:()", "?context_filters=nofeature:(x)", "?context_filters=user_id:(u1)", "?context_filters=a%20b",
		"?include_metadata=true", "?include_metadata=1", "?include_metadata=no", "?include_metadata=", "?include_metadata=maybe",
		"?settings=flags,size_limit&include_metadata=true&context_filters=user:(me),theme:(bright)",
		"?settings=size_limit&settings=color", "?include_metadata=false&include_metadata=true", "?unknown=1",
	}
	type tc struct {
		name   string
		method string
		path   string
		header http.Header
		body   string
	}
	var cases []tc
	for _, q := range queries {
		cases = append(cases, tc{name: "query" + q, method: http.MethodGet, path: "/api/v1/query" + q})
	}
	inm := func(v string) http.Header { return http.Header{"If-None-Match": {v}} }
	cases = append(cases,
		tc{name: "304 exact", method: http.MethodGet, path: "/api/v1/query?include_metadata=true", header: inm(allMeta)},
		tc{name: "304 star", method: http.MethodGet, path: "/api/v1/query", header: inm("*")},
		tc{name: "304 list", method: http.MethodGet, path: "/api/v1/query?settings=size_limit,color", header: inm(`"aaa", ` + some)},
		tc{name: "304 weak", method: http.MethodGet, path: "/api/v1/query?settings=size_limit,color", header: inm("W/" + some)},
		tc{name: "200 unquoted", method: http.MethodGet, path: "/api/v1/query?settings=size_limit,color", header: inm(strings.Trim(some, `"`))},
		tc{name: "200 other etag", method: http.MethodGet, path: "/api/v1/query?include_metadata=true", header: inm(some)},
		tc{name: "200 empty inm", method: http.MethodGet, path: "/api/v1/query", header: inm("")},
		tc{name: "settings", method: http.MethodGet, path: "/api/v1/settings"},
		tc{name: "settings additional", method: http.MethodGet, path: "/api/v1/settings?include_additional_data=true"},
		tc{name: "settings additional false", method: http.MethodGet, path: "/api/v1/settings?include_additional_data=false"},
		tc{name: "settings additional bad", method: http.MethodGet, path: "/api/v1/settings?include_additional_data=x"},
		tc{name: "setting", method: http.MethodGet, path: "/api/v1/settings/size_limit"},
		tc{name: "setting by alias", method: http.MethodGet, path: "/api/v1/settings/ratio"},
		tc{name: "setting renamed", method: http.MethodGet, path: "/api/v1/settings/fraction"},
		tc{name: "setting metadata order", method: http.MethodGet, path: "/api/v1/settings/flags"},
		tc{name: "setting unknown", method: http.MethodGet, path: "/api/v1/settings/nope"},
		tc{name: "setting metadata", method: http.MethodGet, path: "/api/v1/settings/flags/metadata"},
		tc{name: "health", method: http.MethodGet, path: "/api/health"},
		tc{name: "features", method: http.MethodGet, path: "/api/v1/context_features"},
		tc{name: "feature", method: http.MethodGet, path: "/api/v1/context_features/theme"},
		tc{name: "feature unknown", method: http.MethodGet, path: "/api/v1/context_features/nope"},
		tc{name: "rule", method: http.MethodGet, path: "/api/v1/rules/1"},
		tc{name: "rule metadata", method: http.MethodGet, path: "/api/v1/rules/1/metadata"},
		tc{name: "rule bad id", method: http.MethodGet, path: "/api/v1/rules/x"},
		tc{name: "rule unknown", method: http.MethodGet, path: "/api/v1/rules/99"},
		tc{name: "rule search", method: http.MethodGet, path: "/api/v1/rules/search?setting=size_limit&feature_values=theme:bright"},
		tc{name: "trailing slash", method: http.MethodGet, path: "/api/v1/settings/"},
		tc{name: "unknown path", method: http.MethodGet, path: "/api/v2/x"},
		tc{name: "wrong method", method: http.MethodPut, path: "/api/v1/query"},
		tc{name: "head query", method: http.MethodHead, path: "/api/v1/query"},
		tc{name: "declare invalid", method: http.MethodPost, path: "/api/v1/settings/declare", body: `{"name":"x"}`,
			header: http.Header{"Content-Type": {"application/json"}}},
		tc{name: "declare uptodate", method: http.MethodPost, path: "/api/v1/settings/declare",
			body:   `{"name":"size_limit","configurable_features":["user","theme"],"type":"int","default_value":200}`,
			header: http.Header{"Content-Type": {"application/json"}}},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := do(t, c.method, up.URL+c.path, c.header, c.body)
			got := do(t, c.method, srv.URL()+c.path, c.header, c.body)
			if c.name == "trailing slash" {
				// The Location names the host asked.
				want.header.Del("Location")
				got.header.Del("Location")
			}
			if got.status != want.status || got.body != want.body || got.etag != want.etag || got.ctype != want.ctype {
				t.Errorf("relay answered %d %q %s %q\nservice answered %d %q %s %q",
					got.status, got.body, got.etag, got.ctype, want.status, want.body, want.etag, want.ctype)
			}
			if got.header.Get(wire.HeaderSnapshotAge) == "" {
				t.Errorf("no %s header", wire.HeaderSnapshotAge)
			}
		})
	}
}

// TestOversizedQuery: a request line past the header bound gets the 431
// that the compatible server's own listener gives.
func TestOversizedQuery(t *testing.T) {
	up := newUpstream(t)
	_, srv := newRelay(t, up.URL, relay.Options{Interval: time.Hour})
	path := "/api/v1/query?settings=" + strings.Repeat("a,", 80<<10) + "a"
	want := do(t, http.MethodGet, up.URL+path, nil, "")
	got := do(t, http.MethodGet, srv.URL()+path, nil, "")
	if want.status != http.StatusRequestHeaderFieldsTooLarge || got.status != want.status || got.body != want.body {
		t.Errorf("relay %d %q, service %d %q", got.status, got.body, want.status, want.body)
	}
}
