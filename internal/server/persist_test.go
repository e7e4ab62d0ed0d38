package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDataFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	eng, srv := startEngine(t, Options{ContextFeatures: []string{"user", "trust", "theme"}, DataFile: path})
	runSteps(t, srv, append(sizeLimitWithRules(),
		step{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"max_size","alias":"size_limit","configurable_features":["user","theme"],"type":"int","default_value":200,"metadata":{"testing":true},"version":"2.0"}`, status: 200,
			want: `{"outcome":"upgraded","previous_version":"1.0","differences":[{"level":"minor","attribute":"name","latest_value":"size_limit"}]}`},
		step{method: "PUT", path: "/api/v1/rules/1/metadata", body: `{"metadata":{"z":1,"a":[1.0,"é"]}}`, status: 204},
		// metadata as the reference reads it back (jsonb.go) survives the file
		step{method: "PUT", path: "/api/v1/settings/size_limit/metadata", body: `{"metadata":{"n":{"bb":2e20,"a":1},"testing":true},"version":"2.1"}`, status: 204},
		step{method: "PUT", path: "/api/v1/settings/size_limit/metadata/n", body: `{"value":{"bb":2e20,"a":-0.0},"version":"2.2"}`, status: 204},
		step{method: "DELETE", path: "/api/v1/rules/2", status: 204},
		step{method: "PATCH", path: "/api/v1/context_features/theme/index", body: `{"to_before":"user"}`, status: 204},
		// a NaN accepted for a float is kept as null, as the reference stores it
		step{method: "POST", path: "/api/v1/settings/declare", body: `{"name":"ratio","configurable_features":["user"],"type":"float","default_value":NaN}`, status: 200, want: created},
		step{method: "GET", path: "/api/v1/query?settings=ratio", status: 200, want: `{"settings":{"ratio":{"default_value":null,"rules":[]}}}`},
	))
	before, err := eng.Call(context.Background(), "GET", "/api/v1/settings?include_additional_data=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	if eng.PersistError() != nil {
		t.Fatal(eng.PersistError())
	}

	again, err := New(Options{DataFile: path, ContextFeatures: []string{"user"}})
	if err != nil {
		t.Fatal(err)
	}
	after, err := again.Call(context.Background(), "GET", "/api/v1/settings?include_additional_data=true", nil)
	if err != nil || string(after) != string(before) {
		t.Fatalf("settings after reload:\n%s\nbefore:\n%s (%v)", after, before, err)
	}
	meta, err := again.Call(context.Background(), "GET", "/api/v1/settings/max_size/metadata", nil)
	if err != nil || string(meta) != `{"metadata":{"testing":true,"n":{"a":0.0,"bb":200000000000000000000}}}` {
		t.Fatalf("setting metadata after reload: %s %v", meta, err)
	}
	rule, err := again.Call(context.Background(), "GET", "/api/v1/rules/1", nil)
	if err != nil || string(rule) != `{"setting":"max_size","value":10,"feature_values":[["theme","bright"]],"metadata":{"z":1,"a":[1.0,"é"]}}` {
		t.Fatalf("rule after reload: %s %v", rule, err)
	}
	// ids are never reused, even after a restart
	id, err := again.Call(context.Background(), "POST", "/api/v1/rules", map[string]any{"setting": "size_limit", "feature_values": map[string]any{"user": "x"}, "value": 1})
	if err != nil || string(id) != `{"rule_id":3}` {
		t.Fatalf("new rule after reload: %s %v", id, err)
	}
}

func TestDataFileErrors(t *testing.T) {
	tests := []struct {
		name, content string
	}{
		{"not json", "{"},
		{"wrong format", `{"format":"other/1"}`},
		{"bad type", `{"format":"heksher-devserver/1","context_features":["u"],"settings":[{"name":"a","type":"nope","default_value":1,"configurable_features":["u"],"version":"1.0"}]}`},
		{"unknown feature", `{"format":"heksher-devserver/1","context_features":["u"],"settings":[{"name":"a","type":"int","default_value":1,"configurable_features":["v"],"version":"1.0"}]}`},
		{"bad rule value", `{"format":"heksher-devserver/1","context_features":["u"],"settings":[{"name":"a","type":"int","default_value":1,"configurable_features":["u"],"version":"1.0","rules":[{"id":1,"conditions":[["u","x"]],"value":"s"}]}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := New(Options{DataFile: path}); !errors.Is(err, ErrBadData) {
				t.Fatalf("New = %v, want ErrBadData", err)
			}
		})
	}
}

func TestSeed(t *testing.T) {
	seed, err := ParseSeed([]byte(`
context_features: [user, theme]
settings:
  - name: color
    type: Enum["blue", "red"]
    default: blue
    configurable_features: [theme]
    version: "2.1"
    metadata: {owner: ops}
    rules:
      - conditions: {theme: dark}
        value: red
        metadata: {why: contrast}
  - name: ratio
    type: float
    default: 3.0
    configurable_features: [user]
`))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // applying twice changes nothing
		if err := eng.ApplySeed(context.Background(), seed); err != nil {
			t.Fatal(err)
		}
	}
	got, err := eng.Call(context.Background(), "GET", "/api/v1/query?include_metadata=true", nil)
	want := `{"settings":{"color":{"default_value":"blue","rules":[{"value":"red","context_features":[["theme","dark"]],"rule_id":1,"metadata":{"why":"contrast"}}]},"ratio":{"default_value":3.0,"rules":[]}}}`
	if err != nil || string(got) != want {
		t.Fatalf("query after seed:\n%s\nwant\n%s (%v)", got, want, err)
	}
	if v, _ := eng.Call(context.Background(), "GET", "/api/v1/settings/color", nil); !strings.Contains(string(v), `"version":"2.1"`) {
		t.Fatalf("seed version not applied: %s", v)
	}

	bad := []struct{ name, yaml string }{
		{"unknown key", "settings:\n  - name: a\n    typo: 1\n"},
		{"bad yaml", "settings: [\n"},
	}
	for _, tc := range bad {
		if _, err := ParseSeed([]byte(tc.yaml)); !errors.Is(err, ErrBadData) {
			t.Errorf("%s: ParseSeed = %v", tc.name, err)
		}
	}
	refused := &Seed{Settings: []SeedSetting{{Name: "x", Type: "int", Default: "no", ConfigurableFeatures: []string{"user"}}}}
	err = eng.ApplySeed(context.Background(), refused)
	var re *RequestError
	if !errors.As(err, &re) || re.Status != 422 || !errors.Is(err, ErrRejected) {
		t.Fatalf("ApplySeed with a bad default = %v", err)
	}
}

func TestStartupFeatureOrder(t *testing.T) {
	tests := []struct {
		name          string
		stored, start []string
		want          string
	}{
		{"inserted at position", []string{"user", "theme"}, []string{"user", "trust", "theme"}, `{"context_features":["user","trust","theme"]}`},
		{"nothing stored", nil, []string{"a", "b"}, `{"context_features":["a","b"]}`},
		{"no start-up list", []string{"b", "a"}, nil, `{"context_features":["b","a"]}`},
		{"other order kept", []string{"theme", "user"}, []string{"user", "trust", "theme"}, `{"context_features":["theme","user","trust"]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			first, err := New(Options{ContextFeatures: tc.stored, DataFile: path})
			if err != nil {
				t.Fatal(err)
			}
			if err := first.SaveFile(path); err != nil {
				t.Fatal(err)
			}
			eng, err := New(Options{ContextFeatures: tc.start, DataFile: path})
			if err != nil {
				t.Fatal(err)
			}
			got, err := eng.Call(context.Background(), "GET", "/api/v1/context_features", nil)
			if err != nil || string(got) != tc.want {
				t.Fatalf("features = %s (%v), want %s", got, err, tc.want)
			}
		})
	}
}
