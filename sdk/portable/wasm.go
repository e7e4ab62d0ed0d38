//go:build wasip1

package portable

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/wasm"
)

// This file is the wasm guest's side: built with GOOS=wasip1 (as a reactor,
// -buildmode=c-shared), a portable plugin is run by sdk/wasm. Events are
// copied out of the host's buffer into the event package's types, so
// handlers may keep what they are given.

// Register makes p the module's plugin. Call it from an init function of
// package main: the host calls into a wasm module without running main, so
// init is the one place both runtimes run.
func Register(p Plugin) {
	g := &guest{p: p}
	g.logger = slog.New(&textHandler{
		enabled: func(l slog.Level) bool { return wasm.LogEnabled(wasm.Level(l)) },
		emit:    func(l slog.Level, msg string) { wasm.Log(wasm.Level(l), msg) },
	})
	wasm.Init(g.init)
}

// Main serves the plugin given to [Register] in a process plugin. In a wasm
// guest it does nothing: the host never calls main.
func Main() {}

// backend is a wasm guest's lookup path: the ABI's get_setting.
type backend struct {
	ctx wasm.ContextBuilder // reused by every lookup
}

func (b *backend) lookup(_ context.Context, setting string, features []pluginapi.Feature, keep bool) (pluginapi.Value, error) {
	var c wasm.Context
	if len(features) > 0 {
		b.ctx.Reset()
		for _, f := range features {
			b.ctx.Add(f.Name, f.Value)
		}
		c = b.ctx.Context()
	}
	a, err := wasm.GetAnswer(setting, c)
	if err != nil {
		return pluginapi.Value{}, &lookupError{setting: setting, err: err}
	}
	v := pluginapi.Value{JSON: a.Value, Source: pluginapi.Source(a.Source), Origin: pluginapi.Origin(a.Origin), RuleID: a.RuleID}
	if keep {
		v.JSON = bytes.Clone(v.JSON) // a.Value is the SDK's buffer, reused by the next lookup
		v.Conditions = conditions(a.Conditions)
	}
	return v, nil
}

// lookupError is a failed lookup in a wasm guest: it carries sdk/wasm's
// error (and its text) and matches the pluginapi error of the same meaning,
// as a process plugin's lookup errors do.
type lookupError struct {
	setting string
	err     error
}

func (e *lookupError) Error() string {
	return "portable: lookup " + strconv.Quote(e.setting) + ": " + e.err.Error()
}

func (e *lookupError) Unwrap() []error {
	for _, m := range [...]struct{ wasm, api error }{
		{wasm.ErrNotFound, pluginapi.ErrNotFound},
		{wasm.ErrNotDeclared, pluginapi.ErrNotDeclared},
		{wasm.ErrBadContext, pluginapi.ErrBadContext},
	} {
		if errors.Is(e.err, m.wasm) {
			return []error{m.api, e.err}
		}
	}
	return []error{e.err}
}

// declare declares d to the host by sdk/wasm.
func declare(d pluginapi.Declaration) error {
	var meta json.RawMessage
	if d.Metadata != nil {
		var err error
		if meta, err = json.Marshal(d.Metadata); err != nil {
			return fmt.Errorf("portable: metadata of setting %q: %w", d.Name, err)
		}
	}
	if err := wasm.Declare(wasm.Declaration{
		Name: d.Name, Type: d.Type, ConfigurableFeatures: d.ConfigurableFeatures,
		Default: d.Default, Version: d.Version, Metadata: meta,
	}); err != nil {
		return fmt.Errorf("portable: declare %q: %w", d.Name, err)
	}
	return nil
}

// guest adapts a [Plugin] to sdk/wasm's registered functions.
type guest struct {
	p      Plugin
	logger *slog.Logger
}

func (g *guest) init(cfg []byte) error {
	// declared are the settings Init declared by InitRequest.Declare: the
	// manifest's declarations of them are not made again.
	declared := map[string]bool{}
	done := false
	m, err := g.p.Init(context.Background(), InitRequest{
		Config:   config(bytes.Clone(cfg)), // cfg lives in the host's buffer
		Settings: &Settings{},
		Logger:   g.logger,
		declare: func(_ context.Context, ds []pluginapi.Declaration) error {
			if done {
				return errors.New("portable: declare: only while Init runs: the plugin's declarations are fixed when it loads")
			}
			for _, d := range ds {
				if err := declare(d); err != nil {
					return err
				}
				declared[d.Name] = true
			}
			return nil
		},
	})
	done = true
	if err != nil {
		return err
	}
	for _, d := range m.Declarations {
		if declared[d.Name] {
			continue
		}
		if err := declare(d); err != nil {
			return err
		}
	}
	// sdk/wasm subscribes to the kinds that have a handler once init returns.
	subs := subscriptions(m)
	if subs.Has(event.KindDeclared) {
		wasm.OnDeclared(g.declared)
	}
	if subs.Has(event.KindUpdateOK) {
		wasm.OnUpdateOK(g.updateOK)
	}
	if subs.Has(event.KindUpdateError) {
		wasm.OnUpdateError(g.updateError)
	}
	if subs.Has(event.KindSettingChanged) {
		wasm.OnSettingChanged(g.settingChanged)
		if err := wasm.SubscribeSetting(m.Settings...); err != nil {
			return fmt.Errorf("portable: select settings %q: %w", m.Settings, err)
		}
	}
	if subs.Has(event.KindClosing) {
		wasm.OnClosing(g.closing)
	}
	return nil
}

func header(d wasm.Delivery) event.Header {
	h := event.Header{Seq: d.EventSeq}
	if !d.Time.IsZero() {
		h.Time = d.Time.UTC()
	}
	return h
}

func delivery(d wasm.Delivery) Delivery {
	return Delivery{Seq: d.Seq, Dropped: d.Dropped, Unreadable: d.Unreadable}
}

// errText is a host's error text as an error, nil for none.
func errText(s string) error {
	if s == "" {
		return nil
	}
	return errors.New(strings.Clone(s))
}

func (g *guest) declared(d wasm.Delivery, v wasm.Declared) error {
	e := &event.Declared{
		Header: header(d), Setting: strings.Clone(v.Setting()), Version: strings.Clone(v.Version()),
		Outcome: strings.Clone(v.Outcome()), LatestVersion: strings.Clone(v.LatestVersion()),
		Differences: cloneJSON(v.Differences()), Tracked: v.Tracked(), Err: errText(v.Err()),
	}
	return g.p.OnDeclared(context.Background(), delivery(d), e)
}

func (g *guest) updateOK(d wasm.Delivery, v wasm.UpdateOK) error {
	e := &event.UpdateOK{
		Header: header(d), NotModified: v.NotModified(), ETag: strings.Clone(v.ETag()), Duration: v.Duration(),
	}
	for it := v.Changed(); ; {
		s, ok := it.Next()
		if !ok {
			break
		}
		e.Changed = append(e.Changed, strings.Clone(s))
	}
	for it := v.Rejected(); ; {
		r, ok := it.Next()
		if !ok {
			break
		}
		e.Rejected = append(e.Rejected, event.RejectedValue{
			Setting: strings.Clone(r.Setting()), Default: r.Default(), RuleID: r.RuleID(),
			Conditions: conditions(r.Conditions()), Value: cloneJSON(r.Value()), Reason: strings.Clone(r.Reason()),
		})
	}
	return g.p.OnUpdateOK(context.Background(), delivery(d), e)
}

func (g *guest) updateError(d wasm.Delivery, v wasm.UpdateError) error {
	e := &event.UpdateError{
		Header: header(d), Err: errors.New(strings.Clone(v.Message())),
		ConsecutiveFailures: v.ConsecutiveFailures(), Duration: v.Duration(),
	}
	if t := v.LastSuccess(); !t.IsZero() {
		e.LastSuccess = t.UTC()
	}
	return g.p.OnUpdateError(context.Background(), delivery(d), e)
}

func (g *guest) settingChanged(d wasm.Delivery, v wasm.SettingChanged) error {
	e := &event.SettingChanged{
		Header: header(d), Setting: strings.Clone(v.Setting()), Old: ruleSet(v.Old()), New: ruleSet(v.New()),
	}
	return g.p.OnSettingChanged(context.Background(), delivery(d), e)
}

func (g *guest) closing(d wasm.Delivery) error {
	// sdk/wasm's reasons have event.ClosingReason's values.
	e := &event.Closing{Header: header(d), Reason: event.ClosingReason(d.Reason)}
	return g.p.OnClosing(context.Background(), delivery(d), e)
}

func ruleSet(v wasm.RuleSet) event.RuleSet {
	rs := event.RuleSet{Retrieved: v.Retrieved()}
	if def, ok := v.Default(); ok {
		rs.Default = bytes.Clone(def)
	}
	for it := v.Rules(); ; {
		r, ok := it.Next()
		if !ok {
			break
		}
		rs.Rules = append(rs.Rules, event.Rule{ID: r.ID(), Conditions: conditions(r.Conditions()), Value: cloneJSON(r.Value())})
	}
	return rs
}

func conditions(it wasm.Conditions) []event.Condition {
	var out []event.Condition
	for {
		f, v, ok := it.Next()
		if !ok {
			return out
		}
		out = append(out, event.Condition{Feature: strings.Clone(f), Value: strings.Clone(v)})
	}
}

// cloneJSON copies wire JSON out of the host's buffer; nil for none.
func cloneJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}
