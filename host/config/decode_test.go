package config

import (
	"errors"
	"testing"
)

// TestParseSyntaxErrorColumn checks that a YAML syntax error in the host
// configuration names the line and column of the mistake, not only the line
// of the block around it.
func TestParseSyntaxErrorColumn(t *testing.T) {
	data := []byte("update_interval: 1s\nplugins:\n  - name: a\n    kind: wasm\n   path: a.wasm\n")
	_, _, err := Parse("host.yaml", data)
	ce, ok := errors.AsType[*Error](err)
	if !ok || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Parse = %v, want an *Error matching ErrInvalid", err)
	}
	if ce.Line != 5 || ce.Column != 4 {
		t.Errorf("error at %d:%d, want 5:4 (%v)", ce.Line, ce.Column, err)
	}
	if want := "config: host.yaml:5:4: did not find expected '-' indicator"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}
