// Command banner is the demo's process plugin. It declares the setting
// "banner" (a str configurable by user and theme) and, whenever Heksher
// changes it, prints the rules it received and looks the banner up again
// through the host for each configured user, logging lines such as
//
//	banner for user=alice is "winter sale" (rule 3)
//
// Built by `make run` / `make host-plugins` (mk/host.mk).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/plugin"
)

type config struct {
	// Users are the users whose banner is shown after each change.
	Users []string `json:"users"`
}

type banner struct {
	plugin.Base
	users    []string
	settings *plugin.Settings
	log      *slog.Logger
	shown    bool
}

func (b *banner) Init(_ context.Context, req plugin.InitRequest) (pluginapi.Manifest, error) {
	c := config{Users: []string{"alice", "bob"}}
	if len(req.Config) > 0 && string(req.Config) != "null" {
		if err := json.Unmarshal(req.Config, &c); err != nil {
			return pluginapi.Manifest{}, fmt.Errorf("banner: config: %w", err)
		}
	}
	b.users, b.settings, b.log = c.Users, req.Settings, req.Logger
	return pluginapi.Manifest{
		Subscriptions: event.SetOf(event.KindUpdateOK, event.KindSettingChanged, event.KindClosing),
		Declarations: []pluginapi.Declaration{{
			Name: "banner", Type: "str", ConfigurableFeatures: []string{"user", "theme"},
			Default: json.RawMessage(`"welcome"`),
		}},
	}, nil
}

// OnUpdateOK shows the banners once, after the first successful update.
func (b *banner) OnUpdateOK(ctx context.Context, _ plugin.Delivery, _ *event.UpdateOK) error {
	if b.shown {
		return nil
	}
	b.shown = true
	return b.show(ctx)
}

func (b *banner) OnSettingChanged(ctx context.Context, d plugin.Delivery, e *event.SettingChanged) error {
	if e.Setting != "banner" {
		return nil
	}
	var rules []string
	for _, r := range e.New.Rules {
		var conds []string
		for _, c := range r.Conditions {
			conds = append(conds, c.Feature+"="+c.Value)
		}
		rules = append(rules, fmt.Sprintf("rule %d: %s -> %s", r.ID, strings.Join(conds, ","), r.Value))
	}
	b.log.Info(fmt.Sprintf("banner changed: %d rules -> %d rules [%s]", len(e.Old.Rules), len(e.New.Rules), strings.Join(rules, "; ")),
		"delivery", d.Seq, "dropped_before", d.Dropped)
	b.shown = true
	return b.show(ctx)
}

// OnClosing says goodbye: the host delivers closing before it stops its
// plugins, so this line is the proof that a shutdown was orderly.
func (b *banner) OnClosing(_ context.Context, d plugin.Delivery, _ *event.Closing) error {
	b.log.Info("banner closing", "delivery", d.Seq, "dropped_before", d.Dropped)
	return nil
}

func (b *banner) show(ctx context.Context) error {
	for _, u := range b.users {
		v, err := b.settings.Lookup(ctx, "banner", pluginapi.Feature{Name: "user", Value: u})
		if err != nil {
			return err
		}
		var s string
		_ = json.Unmarshal(v.JSON, &s)
		from := v.Source.String()
		if v.Source == pluginapi.SourceRule {
			from = fmt.Sprintf("rule %d", v.RuleID)
		}
		b.log.Info(fmt.Sprintf("banner for user=%s is %q (%s)", u, s, from))
	}
	return nil
}

func main() {
	if err := plugin.Serve(&banner{}); err != nil {
		fmt.Fprintln(os.Stderr, "banner:", err)
		os.Exit(1)
	}
}
