// Command wasm-changes is an example wasm plugin: it reacts to setting
// changes and looks settings up with a context.
//
// It declares "rate_limit" (an int configurable by env and user, default
// 100). On every change of any setting (it selects them all with
// wasm.SubscribeSetting; a plugin receives by default only the changes of
// the settings it declares) it logs how many rules the setting had before
// and after, then looks rate_limit up for the context named in its config
// (by default env=prod) and logs the value it resolves to.
//
// Build it with `make wasm` (mk/wasm.mk), which runs
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm.
package main

import (
	"encoding/json"
	"strconv"

	"github.com/heksher-go/heksher/sdk/wasm"
)

// config is the plugin's "config" in the host configuration.
type config struct {
	// Context is the context rate_limit is looked up for.
	Context map[string]string `json:"context"`
}

var (
	lookupCtx wasm.Context // built once at init, reused by every lookup
	line      []byte       // the log line, reused
)

func init() {
	wasm.Init(setup)
	wasm.OnSettingChanged(onSettingChanged)
}

func setup(raw []byte) error {
	c := config{Context: map[string]string{"env": "prod"}}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
	}
	var b wasm.ContextBuilder
	b.Reset()
	for k, v := range c.Context {
		b.Add(k, v)
	}
	lookupCtx = b.Context()
	if err := wasm.SubscribeSetting(wasm.AllSettings); err != nil {
		return err
	}
	return wasm.Declare(wasm.Declaration{
		Name:                 "rate_limit",
		Type:                 "int",
		ConfigurableFeatures: []string{"env", "user"},
		Default:              json.RawMessage("100"),
	})
}

func onSettingChanged(d wasm.Delivery, e wasm.SettingChanged) error {
	oldRules, newRules := e.Old().Rules(), e.New().Rules()
	limit, err := wasm.GetInt("rate_limit", lookupCtx)
	if err != nil {
		return err
	}
	line = append(line[:0], "setting "...)
	line = append(line, e.Setting()...)
	line = append(line, " changed: rules "...)
	line = strconv.AppendInt(line, int64(oldRules.Len()), 10)
	line = append(line, " -> "...)
	line = strconv.AppendInt(line, int64(newRules.Len()), 10)
	line = append(line, "; rate_limit is "...)
	line = strconv.AppendInt(line, limit, 10)
	if d.Dropped > 0 {
		line = append(line, " ("...)
		line = strconv.AppendUint(line, d.Dropped, 10)
		line = append(line, " events dropped before this one)"...)
	}
	wasm.Info(string(line))
	return nil
}

func main() {}
