package server

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/heksher-go/heksher/internal/yamlstrict"
)

// TestLoadSeedFileErrors checks that a seed file's mistakes are refused with
// the file, line, column and field, as the host configuration's are.
func TestLoadSeedFileErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string // want: the error after the file name
	}{
		{"typo in a setting", "settings:\n  - name: a\n    type: int\n    defualt: 3\n", `:4:5: settings[0].defualt: unknown field "defualt" (known: name, type, default, configurable_features, metadata, version, rules)`},
		{"typo in a rule", "settings:\n  - name: a\n    rules:\n      - condition: {user: x}\n", `:4:9: settings[0].rules[0].condition: unknown field "condition" (known: conditions, value, metadata)`},
		{"bool as a condition", "settings:\n  - name: a\n    rules:\n      - conditions: {beta: true}\n", `:4:28: settings[0].rules[0].conditions.beta: want a string, got boolean "true" (quote it to make it a string)`},
		{"field twice", "context_features: [user]\ncontext_features: [theme]\n", `:2:1: context_features: field given twice`},
		{"syntax error", "settings:\n  - name: a\n    type: int\n   default: 3\n", `:4:4: did not find expected '-' indicator`},
		{"two documents", "settings: []\n---\nsettings: []\n", `:2:1: only one YAML document is allowed`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "seed.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadSeedFile(path)
			if !errors.Is(err, ErrBadData) {
				t.Fatalf("LoadSeedFile = %v, want ErrBadData", err)
			}
			ye, ok := errors.AsType[*yamlstrict.Error](err)
			if !ok {
				t.Fatalf("LoadSeedFile = %v, want a *yamlstrict.Error inside", err)
			}
			if got, want := ye.Error(), path+tc.want; got != want {
				t.Errorf("error\n  %s\nwant\n  %s", got, want)
			}
			if want := "server: invalid data: " + path + tc.want; err.Error() != want {
				t.Errorf("full error\n  %s\nwant\n  %s", err, want)
			}
		})
	}
}
