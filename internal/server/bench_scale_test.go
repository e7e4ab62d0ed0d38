package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// scaleEngine holds n int settings with 5 rules each, built through the
// data file's form (toState) so that 100,000 settings take seconds, not
// minutes. It returns the settings names in order.
func scaleEngine(tb testing.TB, n int) (*Engine, []string) {
	tb.Helper()
	eng, err := New(Options{})
	if err != nil {
		tb.Fatal(err)
	}
	snap := &snapshot{Format: dataFormat, ContextFeatures: []string{"user", "trust", "theme"}, NextRuleID: 1}
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("setting_%06d", i)
		ss := snapSetting{Name: names[i], Type: "int", DefaultValue: json.RawMessage(strconv.Itoa(i)),
			Metadata: json.RawMessage("{}"), ConfigurableFeatures: []string{"user", "trust", "theme"}, Version: "1.0"}
		for j := range 5 {
			ss.Rules = append(ss.Rules, snapRule{ID: snap.NextRuleID,
				Conditions: [][2]string{{"user", "u" + strconv.Itoa(j)}, {"theme", "dark"}},
				Value:      json.RawMessage(strconv.Itoa(j)), Metadata: json.RawMessage(`{"owner":"bench"}`)})
			snap.NextRuleID++
		}
		snap.Settings = append(snap.Settings, ss)
	}
	st, err := snap.toState()
	if err != nil {
		tb.Fatal(err)
	}
	eng.st = st
	return eng, names
}

// ownQuery is the query a client tracking names sends.
func ownQuery(names []string) string {
	return "/api/v1/query?" + url.Values{
		"settings":         {strings.Join(names, ",")},
		"context_filters":  {"user:*,theme:*"},
		"include_metadata": {"false"},
	}.Encode()
}

var scaleSizes = []int{100, 1_000, 10_000, 100_000}

// BenchmarkQueryScale304 measures a poll that matches (304) for a client's
// own query naming n settings, the request already parsed as net/http
// hands it to the handler. As on a real server, each request's query
// string is a string of its own (not the one the cache holds) and the
// cache holds the queries of other clients too. ns/setting is the cost
// per named setting.
func BenchmarkQueryScale304(b *testing.B) {
	for _, n := range scaleSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			eng, names := scaleEngine(b, n)
			h := eng.Handler()
			for i := range 16 { // other clients' queries
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, ownQuery(names[:i+1]), nil))
			}
			req := httptest.NewRequest(http.MethodGet, ownQuery(names), nil)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatal(w.Code, w.Body.String())
			}
			req.Header.Set("If-None-Match", w.Header().Get("ETag"))
			copies := [2]string{strings.Clone(req.URL.RawQuery), strings.Clone(req.URL.RawQuery)}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				req.URL.RawQuery = copies[i%2]
				i++
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 304 {
					b.Fatal(w.Code)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/setting")
		})
	}
}

// BenchmarkQueryScaleRender measures rendering a client's own query for n
// settings × 5 rules (the cache emptied before each request, as after a
// change).
func BenchmarkQueryScaleRender(b *testing.B) {
	for _, n := range scaleSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			eng, names := scaleEngine(b, n)
			h := eng.Handler()
			req := httptest.NewRequest(http.MethodGet, ownQuery(names), nil)
			b.ReportAllocs()
			for b.Loop() {
				eng.cache.clear()
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatal(w.Code)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/setting")
		})
	}
}
