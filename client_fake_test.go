package heksher

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heksher-go/heksher/internal/wire"
)

// fakeServer answers as the wire transcript shows, with answers a test
// scripts: declaration answers per setting, query data per setting, and a
// fault hook that can take over any request.
type fakeServer struct {
	t   *testing.T
	srv *httptest.Server

	mu           sync.Mutex
	features     []string
	declare      map[string]fakeAnswer // by setting name; default 200 created
	declared     []wire.DeclareRequest
	data         map[string]wire.QuerySetting
	queries      []url.Values
	queryHeaders []http.Header
	fault        func(w http.ResponseWriter, r *http.Request) bool
	health       int
}

type fakeAnswer struct {
	status int
	body   string
}

func newFakeServer(t *testing.T, features ...string) *fakeServer {
	t.Helper()
	f := &fakeServer{t: t, features: features, declare: map[string]fakeAnswer{}, data: map[string]wire.QuerySetting{}, health: 200}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) URL() string { return f.srv.URL }

func (f *fakeServer) setDeclare(name string, status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.declare[name] = fakeAnswer{status, body}
}

// setData sets a setting's query data: its default and rules given as
// (value JSON, "f=v,g=w") pairs with ids from 1.
func (f *fakeServer) setData(name, def string, rules ...[2]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	qs := wire.QuerySetting{Name: name, DefaultValue: json.RawMessage(def), Rules: []wire.QueryRule{}}
	for i, r := range rules {
		qr := wire.QueryRule{Value: json.RawMessage(r[0]), ContextFeatures: [][]string{}, RuleID: int64(i + 1)}
		if r[1] != "" {
			for _, c := range strings.Split(r[1], ",") {
				k, v, _ := strings.Cut(c, "=")
				qr.ContextFeatures = append(qr.ContextFeatures, []string{k, v})
			}
		}
		qs.Rules = append(qs.Rules, qr)
	}
	f.data[name] = qs
}

func (f *fakeServer) setFault(fn func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = fn
}

func (f *fakeServer) declaredNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, d := range f.declared {
		out = append(out, d.Name)
	}
	return out
}

func (f *fakeServer) queryLog() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queries)
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	fault := f.fault
	f.mu.Unlock()
	if fault != nil && fault(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/api/health":
		w.WriteHeader(f.health)
		io.WriteString(w, `{"version":"0.5.7"}`)
	case "/api/v1/context_features":
		b, _ := json.Marshal(map[string][]string{"context_features": f.features})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	case "/api/v1/settings/declare":
		var d wire.DeclareRequest
		if err := json.NewDecoder(r.Body).Decode(&d); err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		f.declared = append(f.declared, d)
		a, ok := f.declare[d.Name]
		if !ok {
			a = fakeAnswer{200, `{"outcome":"created"}`}
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	case "/api/v1/query":
		f.queries = append(f.queries, r.URL.Query())
		f.queryHeaders = append(f.queryHeaders, r.Header.Clone())
		var resp wire.QueryResponse
		if names := r.URL.Query().Get("settings"); names != "" {
			for _, n := range strings.Split(names, ",") {
				if qs, ok := f.data[n]; ok {
					resp.Settings = append(resp.Settings, qs)
				}
			}
		}
		body, err := resp.MarshalJSON()
		if err != nil {
			f.t.Error(err)
		}
		sum := md5.Sum(body)
		etag := `"` + hex.EncodeToString(sum[:]) + `"`
		w.Header().Set("ETag", etag)
		if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	case "/api/v1/settings":
		var list []map[string]any
		for _, d := range f.declared {
			list = append(list, map[string]any{"name": d.Name, "type": d.Type, "default_value": d.DefaultValue, "version": d.Version,
				"configurable_features": d.ConfigurableFeatures, "metadata": map[string]any{}, "aliases": []string{}})
		}
		b, _ := json.Marshal(map[string]any{"settings": list})
		w.Write(b)
	default:
		http.NotFound(w, r)
	}
}

// logCapture records every log record for assertions.
type logCapture struct {
	mu   sync.Mutex
	recs []slog.Record
}

func newLogCapture() (*logCapture, *slog.Logger) {
	lc := &logCapture{}
	return lc, slog.New(lc)
}

func (l *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCapture) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}
func (l *logCapture) WithAttrs(as []slog.Attr) slog.Handler { return capWith{l, as} }
func (l *logCapture) WithGroup(string) slog.Handler         { return l }

// capWith is a logCapture seen through Logger.With: the attributes it was
// given are added to every record, so tests can check which setting a
// message is about.
type capWith struct {
	lc    *logCapture
	attrs []slog.Attr
}

func (h capWith) Enabled(context.Context, slog.Level) bool { return true }
func (h capWith) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(h.attrs...)
	return h.lc.Handle(ctx, r)
}
func (h capWith) WithAttrs(as []slog.Attr) slog.Handler {
	return capWith{h.lc, append(slices.Clip(h.attrs), as...)}
}
func (h capWith) WithGroup(string) slog.Handler { return h }

// attrs returns, for each record at level whose message matches pattern, its
// attributes rendered as strings (a []string renders as "[a b]").
func (l *logCapture) attrs(level slog.Level, pattern string) []map[string]string {
	re := regexp.MustCompile(pattern)
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]string
	for _, r := range l.recs {
		if r.Level != level || !re.MatchString(r.Message) {
			continue
		}
		m := map[string]string{}
		r.Attrs(func(a slog.Attr) bool {
			m[a.Key] = a.Value.String()
			return true
		})
		out = append(out, m)
	}
	return out
}

// countAtLeast returns how many records are at level or above.
func (l *logCapture) countAtLeast(level slog.Level) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if r.Level >= level {
			n++
		}
	}
	return n
}

// count returns how many records at level have a message matching pattern.
func (l *logCapture) count(level slog.Level, pattern string) int {
	re := regexp.MustCompile(pattern)
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if r.Level == level && re.MatchString(r.Message) {
			n++
		}
	}
	return n
}

func (l *logCapture) has(level slog.Level, pattern string) bool { return l.count(level, pattern) > 0 }

// total returns how many records were captured.
func (l *logCapture) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recs)
}

func (l *logCapture) dump() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, r := range l.recs {
		b.WriteString(r.Level.String() + " " + r.Message + "\n")
	}
	return b.String()
}

// freshMain resets the main slot for a test and again after it.
func freshMain(t *testing.T) {
	t.Helper()
	ResetMainForTesting()
	t.Cleanup(ResetMainForTesting)
}

// startClient makes a client for url, makes it main and closes it at cleanup.
func newTestClient(t *testing.T, url string, features []string, opts ...Option) (*Client, *logCapture) {
	t.Helper()
	lc, log := newLogCapture()
	c, err := NewClient(url, time.Hour, features, append([]Option{WithLogger(log)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, lc
}

func mustSetting[T any](t *testing.T, name string, typ Type[T], features []string, def T, opts ...SettingOption) *Setting[T] {
	t.Helper()
	s, err := NewSetting(name, typ, features, def, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustGet[T any](t *testing.T, s *Setting[T], explicit map[string]string) T {
	t.Helper()
	v, err := s.Get(context.Background(), explicit)
	if err != nil {
		t.Fatalf("%s.Get(%v): %v", s.Name(), explicit, err)
	}
	return v
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
