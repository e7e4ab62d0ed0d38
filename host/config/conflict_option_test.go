package config

import (
	"strings"
	"testing"
)

// plugins[].on_declaration_conflict takes keep or unload (or nothing); a
// misspelt value is refused with the field's place and the valid values,
// instead of silently keeping the plugin.
func TestOnDeclarationConflict(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		ok          bool
	}{
		{"absent", "", true},
		{"keep", "keep", true},
		{"unload", "unload", true},
		{"misspelt", "unlaod", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := "plugins:\n  - name: p\n    kind: wasm\n    path: p.wasm\n"
			if tc.value != "" {
				y += "    on_declaration_conflict: " + tc.value + "\n"
			}
			cfg, pos, err := Parse("host.yaml", []byte(y))
			if err == nil {
				err = cfg.validate("host.yaml", pos)
			}
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.ok && (err == nil || !strings.Contains(err.Error(), "plugins[0].on_declaration_conflict") ||
				!strings.Contains(err.Error(), "keep or unload") || !strings.Contains(err.Error(), "host.yaml:5")):
				t.Fatalf("want the field, its line and the valid values, got %v", err)
			}
		})
	}
}
