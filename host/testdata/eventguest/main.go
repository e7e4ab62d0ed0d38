// Command eventguest is the host package's wasm guest for the event
// semantics: which settings' changes a plugin receives, the start-up and
// unreadable marks, and the closing reason. It declares the int settings
// named in its config's "declare" (configurable by env, default 0), selects
// those in "subscribe" (subscribe_setting), and logs one line per event:
//
//	changed NAME initial=BOOL unreadable=BOOL lookup=ok|not_declared|…
//	closing reason=REASON
//
// With "hang_closing" its closing handler logs "closing hangs" and loops
// forever. Built by `make host-testdata` (mk/events.mk) into
// host/testdata/eventguest/eventguest.wasm; never committed.
package main

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/heksher-go/heksher/sdk/wasm"
)

type config struct {
	Declare     []string `json:"declare"`
	Subscribe   []string `json:"subscribe"`
	HangClosing bool     `json:"hang_closing"`
}

var cfg config

var prod = wasm.NewContext("env", "prod")

func init() {
	wasm.Init(func(raw []byte) error {
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return err
		}
		for _, name := range cfg.Declare {
			if err := wasm.Declare(wasm.Declaration{Name: name, Type: "int", ConfigurableFeatures: []string{"env"}, Default: json.RawMessage("0")}); err != nil {
				return err
			}
		}
		return wasm.SubscribeSetting(cfg.Subscribe...)
	})
	wasm.OnSettingChanged(func(d wasm.Delivery, e wasm.SettingChanged) error {
		lookup := "ok"
		if _, err := wasm.GetRaw(e.Setting(), prod); errors.Is(err, wasm.ErrNotDeclared) {
			lookup = "not_declared"
		} else if err != nil {
			lookup = "error"
		}
		wasm.Info("changed " + e.Setting() + " initial=" + strconv.FormatBool(e.Initial()) +
			" unreadable=" + strconv.FormatBool(d.Unreadable) + " lookup=" + lookup)
		return nil
	})
	wasm.OnClosing(func(d wasm.Delivery) error {
		if cfg.HangClosing {
			wasm.Info("closing hangs")
			for {
			}
		}
		wasm.Info("closing reason=" + d.Reason.String())
		return nil
	})
}

func main() {}
