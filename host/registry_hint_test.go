package host

import (
	"encoding/json"
	"fmt"
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

// TestNormalizeBoundsMessages: a declaration with a huge name, type or
// default is refused (or compared) with messages that quote a bounded part
// of it, since they are logged and shown in the plugin's status.
func TestNormalizeBoundsMessages(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	decls := []pluginapi.Declaration{
		{Name: huge, Type: "int", ConfigurableFeatures: []string{"env"}, Default: json.RawMessage(`1`)},
		{Name: "x", Type: "Enum[" + huge + "]", ConfigurableFeatures: []string{"env"}, Default: json.RawMessage(`1`)},
		{Name: "x", Type: "Enum[\"a\"]", ConfigurableFeatures: []string{"env"}, Default: json.RawMessage(`"` + huge + `"`)},
	}
	for i, d := range decls {
		_, err := normalize(d)
		if err == nil || len(err.Error()) > 2*maxQuoted+200 {
			t.Errorf("declaration %d: error of %d bytes: %.300v", i, len(fmt.Sprint(err)), err)
		}
	}
	have := pluginapi.Declaration{Name: "x", Type: "str", ConfigurableFeatures: []string{"env"}, Default: json.RawMessage(`"a"`)}
	want := have
	want.Default = json.RawMessage(`"` + huge + `"`)
	if err := compare("x", "host", have, want); err == nil || len(err.Error()) > 2*maxQuoted+200 {
		t.Errorf("conflict of %d bytes", len(fmt.Sprint(err)))
	}
}
