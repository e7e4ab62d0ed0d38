// Command discount is the demo's wasm plugin. It declares the setting
// "discount" (an int configurable by user) and, whenever Heksher changes it,
// logs the rules it received and looks the discount up again through the
// host for each configured user (and once at init, where a setting the
// plugin declares can already be read):
//
//	discount for user=alice is 20% (was 0%)
//
// Built with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared by `make run` /
// `make host-plugins` (mk/host.mk).
package main

import (
	"encoding/json"
	"strconv"

	"github.com/heksher-go/heksher/sdk/wasm"
)

type config struct {
	Users []string `json:"users"`
}

var (
	users []string
	ctxs  []wasm.Context
	last  []int64
	shown bool
)

func init() {
	wasm.Init(setup)
	wasm.OnUpdateOK(onUpdateOK)
	wasm.OnSettingChanged(onSettingChanged)
}

func setup(raw []byte) error {
	c := config{Users: []string{"alice", "bob"}}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
	}
	users = c.Users
	for _, u := range users {
		ctxs = append(ctxs, wasm.NewContext("user", u))
	}
	last = make([]int64, len(users))
	if err := wasm.Declare(wasm.Declaration{
		Name:                 "discount",
		Type:                 "int",
		ConfigurableFeatures: []string{"user"},
		Default:              json.RawMessage("0"),
	}); err != nil {
		return err
	}
	// A setting declared during init can be read at once: the service's
	// value, or the snapshot's or the default while it is down.
	err := show()
	shown = true
	return err
}

func onUpdateOK(wasm.Delivery, wasm.UpdateOK) error {
	if shown {
		return nil
	}
	shown = true
	return show()
}

func onSettingChanged(d wasm.Delivery, e wasm.SettingChanged) error {
	if e.Setting() != "discount" {
		return nil
	}
	line := []byte("discount changed, rules now:")
	rules := e.New().Rules()
	for {
		r, ok := rules.Next()
		if !ok {
			break
		}
		line = append(line, " [rule "...)
		line = strconv.AppendInt(line, r.ID(), 10)
		line = append(line, ": "...)
		conds := r.Conditions()
		for {
			f, v, ok := conds.Next()
			if !ok {
				break
			}
			line = append(line, f...)
			line = append(line, '=')
			line = append(line, v...)
		}
		line = append(line, " -> "...)
		line = append(line, r.Value()...)
		line = append(line, ']')
	}
	if d.Dropped > 0 {
		line = append(line, " ("...)
		line = strconv.AppendUint(line, d.Dropped, 10)
		line = append(line, " events dropped before this one)"...)
	}
	wasm.Info(string(line))
	shown = true
	return show()
}

func show() error {
	for i, u := range users {
		v, err := wasm.GetInt("discount", ctxs[i])
		if err != nil {
			return err
		}
		msg := "discount for user=" + u + " is " + strconv.FormatInt(v, 10) + "%"
		if shown && v != last[i] {
			msg += " (was " + strconv.FormatInt(last[i], 10) + "%)"
		}
		last[i] = v
		wasm.Info(msg)
	}
	return nil
}

func main() {}
