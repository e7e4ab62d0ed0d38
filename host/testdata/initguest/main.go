// Command initguest is the host package's test plugin for values at init
// and declaration conflicts. Built by `make host-testdata` (mk/hosttest.mk)
// into ../initguest.wasm; never committed.
//
// Its config (JSON) lists the settings it declares at init; it looks each
// up at init, also after a restart, and logs "init NAME=VALUE source=S
// origin=O" or "init NAME error=E". "hang": true makes init loop forever
// after declaring. On a declared event it logs "declared NAME
// outcome=O error=E";
// that a test can make it restart; every change is logged as "changed
// NAME=VALUE source=S origin=O" after a lookup of NAME, and a change that
// gives "trap" the value 1 then traps, so that a test can make it restart.
// A closing event is logged as "closing reason=R".
package main

import (
	"encoding/json"

	"github.com/heksher-go/heksher/sdk/wasm"
)

type config struct {
	Settings []struct {
		Name     string          `json:"name"`
		Type     string          `json:"type"`
		Features []string        `json:"features"`
		Default  json.RawMessage `json:"default"`
	} `json:"settings"`
	Hang bool `json:"hang"`
}

// describe looks name up and logs the answer; it returns the value.
func describe(prefix, name string) string {
	a, err := wasm.GetAnswer(name, wasm.Context{})
	if err != nil {
		wasm.Info(prefix + " " + name + " error=" + err.Error())
		return ""
	}
	wasm.Info(prefix + " " + name + "=" + string(a.Value) + " source=" + a.Source.String() + " origin=" + a.Origin.String())
	return string(a.Value)
}

func init() {
	wasm.Init(func(raw []byte) error {
		var c config
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &c); err != nil {
				return err
			}
		}
		for _, s := range c.Settings {
			if err := wasm.Declare(wasm.Declaration{Name: s.Name, Type: s.Type, ConfigurableFeatures: s.Features, Default: s.Default}); err != nil {
				return err
			}
		}
		for c.Hang {
		}
		for _, s := range c.Settings {
			describe("init", s.Name)
		}
		return nil
	})
	wasm.OnDeclared(func(_ wasm.Delivery, e wasm.Declared) error {
		wasm.Info("declared " + e.Setting() + " outcome=" + e.Outcome() + " error=" + e.Err())
		return nil
	})
	wasm.OnClosing(func(d wasm.Delivery) error {
		wasm.Info("closing reason=" + d.Reason.String())
		return nil
	})
	wasm.OnSettingChanged(func(_ wasm.Delivery, e wasm.SettingChanged) error {
		if v := describe("changed", e.Setting()); e.Setting() == "trap" && v == "1" {
			panic("asked to trap")
		}
		return nil
	})
}

func main() {}
