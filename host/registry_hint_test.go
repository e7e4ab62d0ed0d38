package host

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/heksher-go/heksher/pluginapi"
)

// TestNormalizeTypeHint: a declaration whose type is not a Heksher type is
// refused with the type it probably meant and the valid ones.
func TestNormalizeTypeHint(t *testing.T) {
	tests := []struct{ typ, want string }{
		{"integer", `did you mean "int"? valid types: int,`},
		{`enum["a","b"]`, `did you mean "Enum[\"a\",\"b\"]"?`},
		{"Sequence[str]", `did you mean "Sequence<str>"?`},
		{"frobnicate", "valid types: "},
	}
	for _, tc := range tests {
		t.Run(tc.typ, func(t *testing.T) {
			_, err := normalize(pluginapi.Declaration{Name: "x", Type: tc.typ, ConfigurableFeatures: []string{"env"}, Default: json.RawMessage(`1`)})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `setting "x"`) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
