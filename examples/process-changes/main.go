// Command process-changes is a process plugin that reacts to setting
// changes: it declares the setting it reads ("greeting", a string
// configurable by "language"), keeps the value it last saw for each
// configured language, and when Heksher changes the setting it looks the
// values up again through the host and appends one line per value that
// really changed to File:
//
//	greeting[language=fr]: "hello" -> "bonjour"
//
// Configure it in the host config:
//
//	plugins:
//	  - name: changes
//	    process:
//	      path: examples/process-changes/bin/process-changes
//	      config: {"file": "/tmp/greetings.log", "languages": ["en", "fr"]}
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/plugin"
)

// Setting is the setting this plugin declares and watches.
const Setting = "greeting"

type config struct {
	// File receives one line per changed value. Required.
	File string `json:"file"`
	// Languages are the context values to watch. Default ["en"].
	Languages []string `json:"languages"`
}

type changes struct {
	plugin.Base
	cfg      config
	settings *plugin.Settings
	last     map[string]string // language -> value last seen
}

func (c *changes) Init(ctx context.Context, req plugin.InitRequest) (pluginapi.Manifest, error) {
	if err := json.Unmarshal(req.Config, &c.cfg); err != nil {
		return pluginapi.Manifest{}, fmt.Errorf("changes: config: %w", err)
	}
	if c.cfg.File == "" {
		return pluginapi.Manifest{}, errors.New(`changes: config: "file" is required`)
	}
	if len(c.cfg.Languages) == 0 {
		c.cfg.Languages = []string{"en"}
	}
	c.settings = req.Settings
	c.last = make(map[string]string)
	return pluginapi.Manifest{
		Subscriptions: event.SetOf(event.KindSettingChanged),
		Declarations: []pluginapi.Declaration{{
			Name: Setting, Type: "str", ConfigurableFeatures: []string{"language"}, Default: json.RawMessage(`"hello"`),
		}},
	}, nil
}

func (c *changes) OnSettingChanged(ctx context.Context, _ plugin.Delivery, e *event.SettingChanged) error {
	if e.Setting != Setting {
		return nil
	}
	f, err := os.OpenFile(c.cfg.File, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("changes: %w", err)
	}
	defer func() { _ = f.Close() }()
	for _, lang := range c.cfg.Languages {
		now, err := plugin.Get[string](ctx, c.settings, Setting, pluginapi.Feature{Name: "language", Value: lang})
		if err != nil {
			return fmt.Errorf("changes: %w", err)
		}
		before, seen := c.last[lang]
		if !seen {
			before = oldValue(e.Old, lang)
		}
		c.last[lang] = now
		if before == now {
			continue
		}
		if _, err := fmt.Fprintf(f, "%s[language=%s]: %q -> %q\n", Setting, lang, before, now); err != nil {
			return fmt.Errorf("changes: %w", err)
		}
	}
	return nil
}

// oldValue resolves the previous rule set for lang by itself (exact-match
// rules on "language", then the server default), for the first change seen.
func oldValue(rs event.RuleSet, lang string) string {
	var s string
	for _, r := range rs.Rules {
		if len(r.Conditions) == 1 && r.Conditions[0].Feature == "language" && r.Conditions[0].Value == lang {
			if json.Unmarshal(r.Value, &s) == nil {
				return s
			}
		}
	}
	if rs.Default != nil && json.Unmarshal(rs.Default, &s) == nil {
		return s
	}
	return "hello"
}

func main() {
	if err := plugin.Serve(&changes{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
