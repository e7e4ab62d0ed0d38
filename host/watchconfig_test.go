package host

import (
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/internal/wire"
)

// service.watch: false polls every update_interval, never asking to be
// held, against a service that offers the watch; by default the host
// watches.
func TestServiceWatchSwitch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		watch config.Switch
	}{
		{name: "off", watch: config.SwitchOff},
		{name: "default", watch: config.SwitchDefault},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"))
			cfg := testConfig(t)
			cfg.Service.URL = srv.URL
			cfg.Service.Watch = tc.watch
			interval := 50 * time.Millisecond
			cfg.UpdateInterval = config.Duration(interval)
			start := time.Now()
			startHost(t, cfg)
			queries := func() (plain, held int) {
				for _, r := range srv.Requests() {
					if r.Path != "/"+wire.PathQuery {
						continue
					}
					if r.Header.Get(wire.HeaderPrefer) != "" {
						held++
					} else {
						plain++
					}
				}
				return plain, held
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				plain, held := queries()
				if tc.watch == config.SwitchOff && plain >= 6 {
					break
				}
				if tc.watch == config.SwitchDefault && held >= 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("plain queries %d, held %d after 20 s", plain, held)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if tc.watch != config.SwitchOff {
				return
			}
			// At most one poll per interval after the first update: the
			// bound is the documented promise, generous on a loaded machine.
			plain, held := queries()
			if max := int(time.Since(start)/interval) + 2; held != 0 || plain > max {
				t.Fatalf("%d plain queries (at most %d) and %d held ones, want polls only", plain, max, held)
			}
		})
	}
}
