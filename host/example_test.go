package host_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/heksher-go/heksher/dispatch"
	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host"
	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/pluginapi"
)

// A host on the embedded server with an in-process Go hook: a rule added
// through the server's API reaches the hook and the host's lookups.
func Example() {
	state, _ := os.MkdirTemp("", "heksher-host-example")
	defer os.RemoveAll(state)
	cfg := config.Config{
		Embedded:        config.Embedded{Listen: "127.0.0.1:0"},
		Admin:           config.Admin{Listen: "127.0.0.1:0"},
		UpdateInterval:  config.Duration(50 * time.Millisecond),
		ContextFeatures: []string{"user"},
		TrackedContexts: map[string][]string{"user": {"*"}},
		Settings: []config.Setting{
			{Name: "banner", Type: "str", ConfigurableFeatures: []string{"user"}, Default: "welcome"},
		},
		StateDir: state,
	}
	changes := make(chan *event.SettingChanged, 16)
	h, err := host.New(cfg, host.WithHook(host.Hook{
		Name:  "printer",
		Kinds: event.SetOf(event.KindSettingChanged),
		Subscriber: dispatch.SubscriberFunc(func(_ context.Context, d event.Delivery) error {
			changes <- d.Event.(*event.SettingChanged)
			return nil
		}),
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	if err := h.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close(ctx)

	// An operator adds a rule through the embedded server's API.
	resp, err := http.Post(h.ServiceURL()+"/api/v1/rules", "application/json",
		strings.NewReader(`{"setting": "banner", "feature_values": {"user": "alice"}, "value": "winter sale"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	for c := range changes {
		if len(c.New.Rules) == 1 {
			fmt.Printf("%s: %d -> %d rules\n", c.Setting, len(c.Old.Rules), len(c.New.Rules))
			break
		}
	}
	v, _ := h.Lookup(ctx, "banner", []pluginapi.Feature{{Name: "user", Value: "alice"}})
	fmt.Println(string(v.JSON), v.Source)
	v, _ = h.Lookup(ctx, "banner", []pluginapi.Feature{{Name: "user", Value: "bob"}})
	fmt.Println(string(v.JSON), v.Source)
	// Output:
	// banner: 0 -> 1 rules
	// "winter sale" rule
	// "welcome" server_default
}
