package host

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/host/config"
)

// An AssemblyScript plugin reads at init, through its SDK's typed answer
// (get_setting_info), the setting it declares there and where its value
// came from: the service's rule, then with the service down the snapshot's,
// and with no snapshot either the declared default.
func TestValuesAtInitAssemblyScriptOrigin(t *testing.T) {
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme", "env"),
		hekshertest.WithSettings(hekshertest.Setting{Name: "rate_limit", Type: "int", ConfigurableFeatures: []string{"env", "user"}, Default: 100,
			Rules: []hekshertest.Rule{{Conditions: map[string]string{"env": "prod"}, Value: 250}}}))
	cache, stateDir := t.TempDir(), t.TempDir()
	start := func(url, stateDir string, log *logLines) *Host {
		return initHost(t, url, stateDir, cache, log, nil, func(c *config.Config) {
			c.ContextFeatures = []string{"user", "theme", "env"}
			c.TrackedContexts["env"] = []string{"*"}
			c.Plugins = []config.Plugin{{Name: "asg", Kind: "wasm", Path: builtFile(t, "sdk/assemblyscript/testdata/guest.wasm"),
				Config: "origin", StartTimeout: config.Duration(time.Minute)}}
		})
	}
	var first logLines
	h := start(srv.URL, stateDir, &first)
	first.waitFor(t, 1, `msg="origin: rate_limit=250 source=rule origin=service rule=`, "plugin=asg")
	deadline := time.Now().Add(time.Minute)
	for {
		b, _ := os.ReadFile(filepath.Join(stateDir, "snapshot.json"))
		if bytes.Contains(b, []byte(`rate_limit`)) && bytes.Contains(b, []byte(`250`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the snapshot never held rate_limit: %s", b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	closeHost(t, h)
	url := srv.URL
	srv.Close()

	var second logLines
	start(url, stateDir, &second)
	if n := second.count(`msg="origin: rate_limit=250 source=rule origin=snapshot rule=`, "[env=prod]", "plugin=asg"); n != 1 {
		t.Errorf("with the service down: %d init answers from the snapshot, want 1", n)
	}
	var third logLines
	start(url, t.TempDir(), &third)
	if n := third.count(`msg="origin: rate_limit=100 source=local_default origin=defaults rule=0 []"`, "plugin=asg"); n != 1 {
		t.Errorf("with the service down and no snapshot: %d init answers of the default, want 1", n)
	}
}
