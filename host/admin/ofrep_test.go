package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/hekshertest"
)

// flagHost is a backend whose settings are real, kept up to date by a
// client of a compatible server, typed from their type strings like the
// host's.
type flagHost struct {
	fakeBackend
	srv      *hekshertest.Server
	client   *heksher.Client
	settings map[string]heksher.AnySetting
}

func (f *flagHost) FlagSetting(name string) (heksher.AnySetting, bool) {
	s, ok := f.settings[name]
	return s, ok
}

func (f *flagHost) FlagSettings() []heksher.AnySetting {
	out := make([]heksher.AnySetting, 0, len(f.settings))
	for _, s := range f.settings {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

type decl struct {
	name, typ string
	features  []string
	def       string
}

func newFlagHost(t testing.TB, decls ...decl) *flagHost {
	t.Helper()
	f := &flagHost{settings: map[string]heksher.AnySetting{}}
	f.srv = hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"))
	c, err := heksher.NewClient(f.srv.URL, time.Hour, []string{"user", "theme"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.TrackContexts(map[string][]string{"user": {heksher.TrackAll}, "theme": {heksher.TrackAll}})
	f.client = c
	for _, d := range decls {
		typ, err := heksher.ParseType(d.typ)
		if err != nil {
			t.Fatal(err)
		}
		s, err := heksher.NewSetting(d.name, typ, d.features, json.RawMessage(d.def), heksher.WithClient(c))
		if err != nil {
			t.Fatal(err)
		}
		f.settings[d.name] = s
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *flagHost) rule(t testing.TB, setting string, conds map[string]string, v any) int64 {
	t.Helper()
	id, err := f.srv.AddRule(setting, conds, v)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.client.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	return id
}

type ofrepAnswer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func post(t testing.TB, url, contentType, body string, header ...string) ofrepAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := ofrepAnswer{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if len(b) > 0 {
		_ = json.Unmarshal(b, &a.body)
	}
	return a
}

func keys(m map[string]any) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

func TestOFREPSingleEvaluation(t *testing.T) {
	f := newFlagHost(t,
		decl{"size", "int", []string{"user", "theme"}, "50"},
		decl{"ratio", "float", []string{"user"}, "0.5"},
		decl{"on", "bool", []string{"user"}, "false"},
		decl{"banner", "str", []string{"user"}, `"hi"`},
		decl{"color", `Enum["blue","red"]`, []string{"user"}, `"red"`},
		decl{"perms", `Flags["read","write"]`, []string{"user"}, `["read"]`},
		decl{"limits", "Mapping<int>", []string{"user"}, `{"a":1}`},
	)
	id := f.rule(t, "size", map[string]string{"user": "alice", "theme": "dark"}, 7)
	f.rule(t, "on", map[string]string{"user": "42"}, true)
	s := start(t, f, Options{OFREPTargetingFeature: "user"})
	u := s.URL() + "ofrep/v1/evaluate/flags/"
	const js = "application/json"

	a := post(t, u+"size", js, `{"context":{"targetingKey":"alice","theme":"dark","ignored":{"x":1}}}`)
	if a.status != 200 || keys(a.body) != "key,metadata,reason,value,variant" || a.body["key"] != "size" ||
		a.body["value"] != 7.0 || a.body["reason"] != "TARGETING_MATCH" || a.body["variant"] != fmt.Sprint(id) {
		t.Fatalf("rule: %d %s", a.status, a.raw)
	}
	md := a.body["metadata"].(map[string]any)
	if md["source"] != "rule" || md["condition.user"] != "alice" || md["condition.theme"] != "dark" || md["rule_id"] != float64(id) {
		t.Fatalf("metadata: %s", a.raw)
	}
	if a.header.Get("Content-Type") != js {
		t.Errorf("Content-Type %q", a.header.Get("Content-Type"))
	}
	// A number in the context is the string Heksher matches.
	if a := post(t, u+"on", js, `{"context":{"targetingKey":42}}`); a.status != 200 || a.body["value"] != true {
		t.Fatalf("number context: %d %s", a.status, a.raw)
	}
	// The server default, every type.
	for key, want := range map[string]string{"size": "50", "ratio": "0.5", "on": "false", "banner": `"hi"`, "color": `"red"`, "perms": `["read"]`, "limits": `{"a":1}`} {
		a := post(t, u+key, js, `{"context":{"targetingKey":"bob","theme":"light"}}`)
		v, _ := json.Marshal(a.body["value"])
		if a.status != 200 || string(v) != want || a.body["reason"] != "DEFAULT" || a.body["variant"] != nil {
			t.Errorf("%s: %d %s, want value %s DEFAULT", key, a.status, a.raw, want)
		}
	}
	// An empty body is an empty context.
	if a := post(t, u+"banner", js, ``); a.status != 400 || a.body["errorCode"] != "TARGETING_KEY_MISSING" {
		t.Errorf("empty body: %d %s", a.status, a.raw)
	}
}

func TestOFREPErrors(t *testing.T) {
	f := newFlagHost(t, decl{"size", "int", []string{"user", "theme"}, "50"})
	f.rule(t, "size", map[string]string{"user": "alice", "theme": "dark"}, 7)
	s := start(t, f, Options{OFREPTargetingFeature: "user"})
	u := s.URL() + "ofrep/v1/evaluate/flags/"
	const js = "application/json"
	cases := []struct {
		name, key, body string
		status          int
		code            string
	}{
		{"unknown flag", "nope", `{"context":{}}`, 404, "FLAG_NOT_FOUND"},
		{"malformed JSON", "size", `{"context":`, 400, "PARSE_ERROR"},
		{"body not an object", "size", `[1,2]`, 400, "PARSE_ERROR"},
		{"context not an object", "size", `{"context":"alice"}`, 400, "INVALID_CONTEXT"},
		{"object attribute", "size", `{"context":{"targetingKey":"alice","theme":{"a":1}}}`, 400, "INVALID_CONTEXT"},
		{"null attribute", "size", `{"context":{"targetingKey":"alice","theme":null}}`, 400, "INVALID_CONTEXT"},
		{"feature missing", "size", `{"context":{"targetingKey":"alice"}}`, 400, "INVALID_CONTEXT"},
		{"targeting key missing", "size", `{"context":{"theme":"dark"}}`, 400, "TARGETING_KEY_MISSING"},
	}
	for _, c := range cases {
		a := post(t, u+c.key, js, c.body)
		if a.status != c.status || a.body["errorCode"] != c.code || a.body["key"] != c.key || a.body["errorDetails"] == "" || a.body["errorDetails"] == nil {
			t.Errorf("%s: %d %s, want %d %s with key and details", c.name, a.status, a.raw, c.status, c.code)
		}
	}
	// A body over 1 MiB: 413, without reading it all.
	big := `{"context":{"theme":"` + strings.Repeat("x", MaxOFREPBody) + `"}}`
	if a := post(t, u+"size", js, big); a.status != http.StatusRequestEntityTooLarge || a.body["errorDetails"] == nil {
		t.Errorf("huge body: %d %.200s", a.status, a.raw)
	}
	// Nesting deeper than any decoder should follow, within the cap: a
	// parse error, not a crash.
	deep := `{"context":{"theme":` + strings.Repeat("[", 400_000) + strings.Repeat("]", 400_000) + `}}`
	if a := post(t, u+"size", js, deep); a.status != 400 || a.body["errorCode"] != "PARSE_ERROR" {
		t.Errorf("deep nesting: %d %.200s", a.status, a.raw)
	}
	// A form body is refused by the guard.
	if a := post(t, u+"size", "application/x-www-form-urlencoded", "context=1"); a.status != http.StatusUnsupportedMediaType {
		t.Errorf("form body: %d", a.status)
	}
}

func TestOFREPNeedsTheToken(t *testing.T) {
	f := newFlagHost(t, decl{"size", "int", []string{"user"}, "50"})
	s := start(t, f, Options{Token: "s3cret"})
	u := s.URL() + "ofrep/v1/evaluate/flags/size"
	if a := post(t, u, "application/json", `{}`); a.status != http.StatusUnauthorized {
		t.Fatalf("no token: %d", a.status)
	}
	if a := post(t, u, "application/json", `{"context":{"user":"x"}}`, "Authorization", "Bearer s3cret"); a.status != 200 {
		t.Fatalf("token: %d %s", a.status, a.raw)
	}
}

func TestOFREPBulkETag(t *testing.T) {
	f := newFlagHost(t,
		decl{"a_size", "int", []string{"user", "theme"}, "50"},
		decl{"b_banner", "str", []string{"user"}, `"hi"`},
	)
	f.rule(t, "b_banner", map[string]string{"user": "alice"}, "hello alice")
	s := start(t, f, Options{})
	u := s.URL() + "ofrep/v1/evaluate/flags"
	const js = "application/json"
	body := `{"context":{"user":"alice"}}`
	a := post(t, u, js, body)
	etag := a.header.Get("ETag")
	flags, _ := a.body["flags"].([]any)
	if a.status != 200 || etag == "" || len(flags) != 2 {
		t.Fatalf("bulk: %d %q %s", a.status, etag, a.raw)
	}
	// a_size needs theme for nothing yet (no rules): the server default.
	if first := flags[0].(map[string]any); first["key"] != "a_size" || first["reason"] != "DEFAULT" {
		t.Fatalf("first flag: %v", first)
	}
	if a := post(t, u, js, body, "If-None-Match", etag); a.status != http.StatusNotModified || a.raw != "" {
		t.Fatalf("unchanged: %d %s", a.status, a.raw)
	}
	// Another context is another answer (the ETag is that of the answer).
	if a := post(t, u, js, `{"context":{"user":"bob"}}`, "If-None-Match", etag); a.status != 200 {
		t.Fatalf("another context: %d", a.status)
	}
	// A rule change is a new answer with a new ETag; a flag whose context
	// lacks a feature fails alone, inside the 200.
	f.rule(t, "a_size", map[string]string{"user": "alice", "theme": "dark"}, 7)
	a = post(t, u, js, body, "If-None-Match", etag)
	if a.status != 200 || a.header.Get("ETag") == etag {
		t.Fatalf("after a change: %d %q", a.status, a.header.Get("ETag"))
	}
	flags, _ = a.body["flags"].([]any)
	if first := flags[0].(map[string]any); first["errorCode"] != "INVALID_CONTEXT" || first["key"] != "a_size" {
		t.Fatalf("per-flag failure: %v", first)
	}
	if a := post(t, u, js, `{"context":`); a.status != 400 || a.body["errorCode"] != "PARSE_ERROR" {
		t.Fatalf("bulk malformed: %d %s", a.status, a.raw)
	}
}

func TestOFREPConfigurationAndBackendWithoutFlags(t *testing.T) {
	f := newFlagHost(t)
	s := start(t, f, Options{})
	_, body := get(t, http.MethodGet, s.URL()+"ofrep/v1/configuration", "")
	var cfg struct {
		Name         string `json:"name"`
		Capabilities struct {
			CacheInvalidation struct {
				Polling struct {
					Enabled bool `json:"enabled"`
				} `json:"polling"`
			} `json:"cacheInvalidation"`
		} `json:"capabilities"`
	}
	if err := json.Unmarshal([]byte(body), &cfg); err != nil || cfg.Name != "heksher-host" || !cfg.Capabilities.CacheInvalidation.Polling.Enabled {
		t.Fatalf("configuration: %v %s", err, body)
	}
	plain := start(t, &fakeBackend{}, Options{})
	if a := post(t, plain.URL()+"ofrep/v1/evaluate/flags/x", "application/json", `{}`); a.status != http.StatusNotImplemented {
		t.Fatalf("no flag backend: %d", a.status)
	}
}

// BenchmarkOFREP compares, in one run with the same client, an OFREP
// single evaluation with a net/http handler answering a constant JSON
// body, and times a bulk evaluation of 100 flags.
func BenchmarkOFREP(b *testing.B) {
	decls := make([]decl, 100)
	for i := range decls {
		decls[i] = decl{fmt.Sprintf("flag_%03d", i), "int", []string{"user", "theme"}, "50"}
	}
	f := newFlagHost(b, decls...)
	for i := range 100 {
		if _, err := f.srv.AddRule(decls[i].name, map[string]string{"user": "alice"}, i); err != nil {
			b.Fatal(err)
		}
	}
	_ = f.client.Reload(context.Background())
	s, err := New(f, nil, Options{Listen: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close(context.Background()) })
	constant := []byte(`{"key":"flag_001","value":1,"reason":"TARGETING_MATCH","variant":"2","metadata":{"source":"rule"}}`)
	plain := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(constant)
	})}
	ln, err := (&netListen{}).listen()
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = plain.Serve(ln) }()
	b.Cleanup(func() { _ = plain.Close() })
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	body := []byte(`{"context":{"user":"alice","theme":"dark"}}`)
	run := func(b *testing.B, url string) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	}
	b.Run("constant-json", func(b *testing.B) { run(b, "http://"+ln.Addr().String()+"/") })
	b.Run("ofrep-single", func(b *testing.B) { run(b, s.URL()+"ofrep/v1/evaluate/flags/flag_001") })
	// paired alternates one request to each server, so that both see the
	// same load: the machine's drift cancels out of the ratio.
	b.Run("paired", func(b *testing.B) {
		one := func(url string) time.Duration {
			t0 := time.Now()
			resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return time.Since(t0)
		}
		var plainT, ofrepT time.Duration
		for b.Loop() {
			plainT += one("http://" + ln.Addr().String() + "/")
			ofrepT += one(s.URL() + "ofrep/v1/evaluate/flags/flag_001")
		}
		b.ReportMetric(float64(b.N)/plainT.Seconds(), "constant-req/s")
		b.ReportMetric(float64(b.N)/ofrepT.Seconds(), "ofrep-req/s")
		b.ReportMetric(100*plainT.Seconds()/ofrepT.Seconds(), "ofrep-%-of-constant")
	})
	b.Run("ofrep-bulk-100", func(b *testing.B) {
		lat := make([]time.Duration, 0, 1024)
		for b.Loop() {
			t0 := time.Now()
			resp, err := hc.Post(s.URL()+"ofrep/v1/evaluate/flags", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lat = append(lat, time.Since(t0))
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	})
}

type netListen struct{}

func (netListen) listen() (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
}
