package plugintest_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/plugintest"
)

// An AssemblyScript plugin reads, during its init, where its setting's value
// came from (get_setting_info through the wasm runtime): the service by
// default, the snapshot when the test says the host serves it, the
// declared default for a setting the host holds no rules for (a lookup of
// its own declaration at init answered not found before).
func TestAssemblyScriptOriginAtInit(t *testing.T) {
	rateLimit := plugintest.Setting{Name: "rate_limit", ConfigurableFeatures: []string{"env", "user"},
		Rules: []event.Rule{plugintest.Rule(250, "env", "prod")}}
	rateLimit.Rules[0].ID = 4
	tests := []struct {
		name     string
		origin   pluginapi.Origin // 0: the default
		settings []plugintest.Setting
		want     string
	}{
		{"the service", 0, []plugintest.Setting{rateLimit}, "INFO origin: rate_limit=250 source=rule origin=service rule=4 [env=prod]"},
		{"the snapshot", pluginapi.OriginSnapshot, []plugintest.Setting{rateLimit}, "INFO origin: rate_limit=250 source=rule origin=snapshot rule=4 [env=prod]"},
		{"no rules", pluginapi.OriginSnapshot, nil, "INFO origin: rate_limit=100 source=local_default origin=defaults rule=0 []"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := plugintest.NewSettings(map[string]string{"user": "ann"}, tc.settings...)
			if tc.origin != 0 {
				s.SetOrigin(tc.origin)
			}
			p := plugintest.New(t, asGuest, plugintest.Options{Config: json.RawMessage(`"origin"`), Settings: s})
			if got := logLines(p); !slices.Contains(got, tc.want) {
				t.Errorf("logs %q lack %q", got, tc.want)
			}
		})
	}
}
