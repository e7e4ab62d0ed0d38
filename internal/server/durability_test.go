package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dataFile writes a data file with one int setting "a" configurable by
// "u" and one rule per id in ids (condition u=r<id>), with next_rule_id
// next.
func dataFile(t *testing.T, next int64, ids ...int64) string {
	t.Helper()
	var rules []string
	for _, id := range ids {
		rules = append(rules, fmt.Sprintf(`{"id":%d,"conditions":[["u","r%d"]],"value":1}`, id, id))
	}
	content := fmt.Sprintf(`{"format":"heksher-devserver/1","context_features":["u"],"next_rule_id":%d,"settings":[`+
		`{"name":"a","type":"int","default_value":0,"configurable_features":["u"],"version":"1.0","rules":[%s]}]}`,
		next, strings.Join(rules, ","))
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRuleIDsNeverWrap(t *testing.T) {
	const top = 1<<63 - 1
	refused := []struct {
		name string
		next int64
		ids  []int64
		want string
	}{
		{"id 2^63-1", 0, []int64{1, top}, "rule 9223372036854775807 of setting a is beyond the largest rule id"},
		{"id 2^63-2", 0, []int64{top - 1}, "rule 9223372036854775806 of setting a"},
		{"id 2^31", 0, []int64{MaxRuleID + 1}, "rule 2147483648 of setting a"},
		{"next id 2^63-1", top, []int64{1}, "next_rule_id 9223372036854775807"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Options{DataFile: dataFile(t, tc.next, tc.ids...)})
			if !errors.Is(err, ErrBadData) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want ErrBadData naming %q", err, tc.want)
			}
		})
	}

	t.Run("last ids", func(t *testing.T) {
		ctx := context.Background()
		path := dataFile(t, 0, MaxRuleID-1, 1, 3) // out of order on purpose
		eng, err := New(Options{DataFile: path})
		if err != nil {
			t.Fatal(err)
		}
		newRule := func(cond string) (string, error) {
			b, err := eng.Call(ctx, "POST", "/api/v1/rules", map[string]any{"setting": "a", "feature_values": map[string]any{"u": cond}, "value": 2})
			return string(b), err
		}
		if got, err := newRule("x"); err != nil || got != fmt.Sprintf(`{"rule_id":%d}`, MaxRuleID) {
			t.Fatalf("rule after %d: %s %v", MaxRuleID-1, got, err)
		}
		var re *RequestError
		if _, err := newRule("y"); !errors.As(err, &re) || re.Status != 500 || !strings.Contains(re.Body, "no rule id left") {
			t.Fatalf("rule once ids are exhausted: %v", err)
		}
		// What the engine wrote loads again, with no duplicate and no new rule.
		again, err := New(Options{DataFile: path})
		if err != nil {
			t.Fatalf("the data file the engine wrote does not load: %v", err)
		}
		got, err := again.Call(ctx, "GET", "/api/v1/query?settings=a", nil)
		want := fmt.Sprintf(`{"settings":{"a":{"default_value":0,"rules":[`+
			`{"value":1,"context_features":[["u","r1"]],"rule_id":1},`+
			`{"value":1,"context_features":[["u","r3"]],"rule_id":3},`+
			`{"value":1,"context_features":[["u","r%d"]],"rule_id":%d},`+
			`{"value":2,"context_features":[["u","x"]],"rule_id":%d}]}}}`, MaxRuleID-1, MaxRuleID-1, MaxRuleID)
		if err != nil || string(got) != want {
			t.Fatalf("query after restart:\n%s\nwant\n%s (%v)", got, want, err)
		}
		if _, err := again.Call(ctx, "POST", "/api/v1/rules", map[string]any{"setting": "a", "feature_values": map[string]any{"u": "z"}, "value": 2}); !errors.As(err, &re) || re.Status != 500 {
			t.Fatalf("rule after restart with ids exhausted: %v", err)
		}
	})
}

// TestRefusedWriteIsNotApplied removes the data folder under a running
// engine: the change that cannot be written is answered 500 and is not
// applied, and the next change that can be written does not carry it.
func TestRefusedWriteIsNotApplied(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "state.json")
	eng, err := New(Options{DataFile: path, ContextFeatures: []string{"u"}})
	if err != nil {
		t.Fatal(err)
	}
	declare := func(name string) error {
		_, err := eng.Call(ctx, "POST", "/api/v1/settings/declare",
			map[string]any{"name": name, "configurable_features": []string{"u"}, "type": "int", "default_value": 1})
		return err
	}
	if err := declare("kept"); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	var re *RequestError
	if err := declare("refused"); !errors.As(err, &re) || re.Status != 500 {
		t.Fatalf("declare without a data folder = %v, want 500", err)
	}
	if _, err := eng.Call(ctx, "POST", "/api/v1/rules", map[string]any{"setting": "kept", "feature_values": map[string]any{"u": "x"}, "value": 2}); !errors.As(err, &re) || re.Status != 500 {
		t.Fatalf("rule without a data folder = %v, want 500", err)
	}
	if eng.PersistError() == nil {
		t.Fatal("PersistError is nil after a refused write")
	}
	if _, err := eng.Call(ctx, "GET", "/api/v1/settings/refused", nil); !errors.As(err, &re) || re.Status != 404 {
		t.Fatalf("the refused setting is served: %v", err)
	}
	if got, _ := eng.Call(ctx, "GET", "/api/v1/query?settings=kept", nil); string(got) != `{"settings":{"kept":{"default_value":1,"rules":[]}}}` {
		t.Fatalf("the refused rule is served: %s", got)
	}

	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := declare("later"); err != nil {
		t.Fatal(err)
	}
	again, err := New(Options{DataFile: path})
	if err != nil {
		t.Fatal(err)
	}
	got, err := again.Call(ctx, "GET", "/api/v1/settings", nil)
	if err != nil || string(got) != `{"settings":[{"name":"kept","type":"int","default_value":1,"version":"1.0"},{"name":"later","type":"int","default_value":1,"version":"1.0"}]}` {
		t.Fatalf("settings after restart: %s %v", got, err)
	}
	if got, _ := again.Call(ctx, "GET", "/api/v1/rules/1", nil); got != nil {
		t.Fatalf("the refused rule survived: %s", got)
	}
}

func TestDataFolderCheckedAtStart(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
		is               error
	}{
		{"missing folder", filepath.Join(base, "missing", "state.json"), "data file folder", fs.ErrNotExist},
		{"folder is a file", filepath.Join(file, "state.json"), "data file folder", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Options{DataFile: tc.path})
			if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("New(%s) = %v, want an error about the %s", tc.path, err, tc.want)
			}
		})
	}
}
