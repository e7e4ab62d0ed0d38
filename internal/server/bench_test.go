package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchEngine holds n settings with 5 rules each.
func benchEngine(b *testing.B, n int) *Engine {
	b.Helper()
	eng, err := New(Options{ContextFeatures: []string{"user", "trust", "theme"}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := range n {
		name := fmt.Sprintf("setting_%04d", i)
		if _, err := eng.Call(ctx, "POST", "/api/v1/settings/declare", map[string]any{
			"name": name, "type": "int", "default_value": i, "configurable_features": []string{"user", "trust", "theme"},
		}); err != nil {
			b.Fatal(err)
		}
		for j := range 5 {
			if _, err := eng.Call(ctx, "POST", "/api/v1/rules", map[string]any{
				"setting": name, "value": j,
				"feature_values": map[string]any{"user": fmt.Sprintf("u%d", j), "theme": "dark"},
				"metadata":       map[string]any{"owner": "bench"},
			}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return eng
}

// BenchmarkQuery measures GET /api/v1/query for 1,000 settings × 5 rules
// in-process: "render" rebuilds the answer every time (a change between
// requests), "cached" is the steady state of polling clients, "304" the
// conditional request that matches.
func BenchmarkQuery(b *testing.B) {
	eng := benchEngine(b, 1000)
	h := eng.Handler()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/query?context_filters=user:(u1,u2),theme:*", nil)
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			eng.mu.Lock()
			eng.cache.clear()
			eng.mu.Unlock()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
	all := httptest.NewRequest(http.MethodGet, "/api/v1/query?include_metadata=true", nil)
	b.Run("render-all-with-metadata", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			eng.mu.Lock()
			eng.cache.clear()
			eng.mu.Unlock()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, all)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	cond := req.Clone(context.Background())
	cond.Header.Set("If-None-Match", w.Header().Get("ETag"))
	b.Run("304", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, cond)
			if w.Code != 304 {
				b.Fatal(w.Code)
			}
		}
	})
}

// BenchmarkDeclare measures an uptodate re-declaration, what every client
// start sends for every setting.
func BenchmarkDeclare(b *testing.B) {
	eng := benchEngine(b, 100)
	ctx := context.Background()
	body := []byte(`{"name":"setting_0050","type":"int","default_value":50,"configurable_features":["user","trust","theme"]}`)
	b.ReportAllocs()
	for b.Loop() {
		if status, _, _ := eng.Do(ctx, "POST", "/api/v1/settings/declare", body); status != 200 {
			b.Fatal(status)
		}
	}
}
