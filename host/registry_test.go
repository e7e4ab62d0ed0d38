package host

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/pluginapi"
)

// A setting keeps its declaration after the plugin that declared it is
// removed: the client still tracks it and Heksher cannot take a declaration
// back. A plugin loaded later may share it identically; a different
// declaration is refused, naming the unloaded plugin as the first declarer.
func TestSettingOutlivesItsPlugin(t *testing.T) {
	f := newManagerFixture(t)
	ctx := context.Background()
	solo := pluginapi.Declaration{ConfigurableFeatures: []string{"user"}, Name: "solo", Type: "int", Default: json.RawMessage(`1`)}
	x := f.file(t, "x", fakeFile{Decls: []pluginapi.Declaration{solo}})
	if err := f.m.apply(ctx, []config.Plugin{spec("x", x)}); err != nil {
		t.Fatal(err)
	}
	if err := f.m.apply(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := running(f.m); got != "" {
		t.Fatalf("running %q after removing x", got)
	}
	if declared, exists := f.m.reg.declaredBy("solo", "x"); declared || !exists {
		t.Fatalf("after removing x: declared by x %v, setting kept %v", declared, exists)
	}

	cases := []struct {
		name    string
		decl    pluginapi.Declaration
		wantErr string
	}{
		{"different type", pluginapi.Declaration{ConfigurableFeatures: []string{"user"}, Name: "solo", Type: "str", Default: json.RawMessage(`"a"`)}, `an unloaded plugin`},
		{"different default", pluginapi.Declaration{ConfigurableFeatures: []string{"user"}, Name: "solo", Type: "int", Default: json.RawMessage(`2`)}, `an unloaded plugin`},
		{"identical", solo, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			y := f.file(t, "y", fakeFile{Decls: []pluginapi.Declaration{tc.decl}})
			err := f.m.apply(ctx, []config.Plugin{spec("y", y)})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if declared, _ := f.m.reg.declaredBy("solo", "y"); !declared {
					t.Error("y does not share solo")
				}
				return
			}
			if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want ErrConflict naming %q", err, tc.wantErr)
			}
			if got := running(f.m); got != "" {
				t.Errorf("running %q after a refused load", got)
			}
		})
	}
	// solo was declared to the client once, by x; y shared it.
	n := 0
	for _, batch := range f.declared {
		for _, d := range batch {
			if d.Name == "solo" {
				n++
			}
		}
	}
	if n != 1 {
		t.Errorf("solo declared %d times to the client, want once", n)
	}
}
