// Command guest is the portable package's test plugin: one source that the
// tests build both as a wasm guest (GOOS=wasip1) and as a process plugin,
// and drive through plugintest, expecting the same lookups and log lines
// from each. Each handler logs what it received and what its lookups
// answered, as text that does not depend on the runtime.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/portable"
)

type guest struct {
	portable.Base
	req portable.InitRequest
}

type config struct {
	Env string `json:"env"`
}

func (g *guest) Init(ctx context.Context, req portable.InitRequest) (pluginapi.Manifest, error) {
	g.req = req
	var c config
	if req.Config != nil {
		if err := json.Unmarshal(req.Config, &c); err != nil {
			return pluginapi.Manifest{}, fmt.Errorf("guest: config: %w", err)
		}
	}
	if c.Env == "fail" {
		return pluginapi.Manifest{}, errors.New("guest: asked to fail its init")
	}
	req.Logger.Info("init", "config_nil", req.Config == nil, "env", c.Env)
	// Declared now, limit is read in this init as the host has it; the
	// manifest repeats it, which is fine.
	limit := pluginapi.Declaration{Name: "limit", Type: "int", ConfigurableFeatures: []string{"env", "user"}, Default: []byte("10"),
		Metadata: map[string]any{"owner": "tests"}}
	if err := req.Declare(ctx, limit); err != nil {
		return pluginapi.Manifest{}, fmt.Errorf("guest: declare: %w", err)
	}
	v, err := req.Settings.Lookup(ctx, "limit", pluginapi.Feature{Name: "env", Value: "prod"})
	req.Logger.Info(fmt.Sprintf("init limit for env=prod: %s %s origin=%s %v", v.JSON, v.Source, v.Origin, err))
	return pluginapi.Manifest{Settings: []string{"other", "fail"}, Declarations: []pluginapi.Declaration{
		limit,
		{Name: "motd", Type: "str", ConfigurableFeatures: []string{"env"}, Default: []byte(`"hi"`), Version: "1.1"},
	}}, nil
}

func (g *guest) OnDeclared(_ context.Context, d portable.Delivery, e *event.Declared) error {
	g.req.Logger.Info(fmt.Sprintf("declared %s %s %s tracked=%t err=%v seq=%d", e.Setting, e.Version, e.Outcome, e.Tracked, e.Err, d.Seq))
	return nil
}

func (g *guest) OnUpdateOK(ctx context.Context, d portable.Delivery, e *event.UpdateOK) error {
	if e.ETag == "bench" { // the benchmarks' event: one lookup, nothing logged
		_, err := portable.Get[int](ctx, g.req.Settings, "limit", pluginapi.Feature{Name: "env", Value: "prod"})
		return err
	}
	g.req.Logger.Info(fmt.Sprintf("update ok not_modified=%t etag=%s changed=%v event_seq=%d seq=%d timed=%t",
		e.NotModified, e.ETag, e.Changed, e.Seq, d.Seq, !e.Time.IsZero()))
	return nil
}

func (g *guest) OnUpdateError(_ context.Context, _ portable.Delivery, e *event.UpdateError) error {
	g.req.Logger.Warn(fmt.Sprintf("update error %q consecutive=%d since=%s", e.Err, e.ConsecutiveFailures, e.SinceLastSuccess()))
	return nil
}

func (g *guest) OnSettingChanged(ctx context.Context, d portable.Delivery, e *event.SettingChanged) error {
	if e.Setting == "fail" {
		return errors.New("guest: refusing the change of fail")
	}
	log := g.req.Logger
	log.Info(fmt.Sprintf("changed %s initial=%t unreadable=%t: %s -> %s", e.Setting, e.Initial(), d.Unreadable, rules(e.Old), rules(e.New)))
	if e.Setting != "limit" {
		return nil
	}
	s := g.req.Settings
	prod := pluginapi.Feature{Name: "env", Value: "prod"}
	n, err := portable.Get[int](ctx, s, "limit", prod)
	log.Info(fmt.Sprintf("limit for env=prod: %d %v", n, err))
	v, err := s.Lookup(ctx, "limit", prod, pluginapi.Feature{Name: "user", Value: "ann"})
	log.Info(fmt.Sprintf("limit for env=prod,user=ann: %s %s rule=%d %v origin=%s conditions=%v", v.JSON, v.Source, v.RuleID, err, v.Origin, v.Conditions))
	m, err := portable.Get[string](ctx, s, "motd")
	log.Info(fmt.Sprintf("motd: %q %v", m, err))
	for _, c := range []struct {
		name     string
		setting  string
		features []pluginapi.Feature
		want     error
	}{
		{"unknown", "nope", nil, pluginapi.ErrNotFound},
		{"undeclared", "other", nil, pluginapi.ErrNotDeclared},
		{"bad context", "limit", []pluginapi.Feature{{Name: "color", Value: "red"}}, pluginapi.ErrBadContext},
	} {
		_, err := s.Lookup(ctx, c.setting, c.features...)
		log.Info(fmt.Sprintf("%s: errors.Is=%t", c.name, errors.Is(err, c.want)))
	}
	_, err = portable.Get[string](ctx, s, "limit", prod)
	log.Info(fmt.Sprintf("limit as a string: failed=%t", err != nil && strings.Contains(err.Error(), "does not decode")))
	return nil
}

func (g *guest) OnClosing(_ context.Context, _ portable.Delivery, e *event.Closing) error {
	// Attributes out of alphabetical order, and a group: both runtimes keep
	// them in this order.
	g.req.Logger.With("k", "two words").Info("closing", "reason", e.Reason.String(), "n", 1, slog.Group("g", "z", 2, "a", 1))
	fmt.Println("stdout: goodbye")
	fmt.Fprintln(os.Stderr, "stderr: goodbye")
	return nil
}

// rules renders a rule set as "[id:value{feature=value,…} …] default=json".
func rules(rs event.RuleSet) string {
	var b strings.Builder
	b.WriteString("[")
	for i, r := range rs.Rules {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%d:%s{", r.ID, r.Value)
		for j, c := range r.Conditions {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString(c.Feature + "=" + c.Value)
		}
		b.WriteString("}")
	}
	fmt.Fprintf(&b, "] default=%s retrieved=%t", rs.Default, rs.Retrieved)
	return b.String()
}

func init() { portable.Register(&guest{}) }
func main() { portable.Main() }
