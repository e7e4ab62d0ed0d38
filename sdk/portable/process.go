//go:build !wasip1

package portable

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/plugin"
)

// This file is the process plugin's side: built for any GOOS but wasip1,
// a portable plugin is served by sdk/plugin.

// registered is the plugin Register saw, for Main. It is written once, by
// an init function, before main runs.
var registered Plugin

// Register names the program's plugin. Call it from an init function of
// package main: a wasm guest's host calls into the module without running
// main, so init is the one place both runtimes run. In a process plugin it
// only remembers p for [Main]; a second call replaces the first.
func Register(p Plugin) { registered = p }

// Main serves the plugin given to [Register] with sdk/plugin and returns
// when the host stops it. Call it from main. In a wasm guest it does nothing
// (main is never called there).
//
// Started by hand rather than by the host, or without a registered plugin,
// it prints why on stderr and exits with status 1.
func Main() {
	var err error
	if registered == nil {
		err = errors.New("portable: no plugin registered; call portable.Register from an init function of package main")
	} else {
		err = plugin.Serve(&processAdapter{p: registered})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// backend is a process plugin's lookup path: sdk/plugin's Settings.
type backend struct {
	s *plugin.Settings
}

func (b *backend) lookup(ctx context.Context, setting string, features []pluginapi.Feature, _ bool) (pluginapi.Value, error) {
	return b.s.Lookup(ctx, setting, features...)
}

// processAdapter serves a [Plugin] as an sdk/plugin Plugin.
type processAdapter struct {
	p Plugin
}

var _ plugin.Plugin = (*processAdapter)(nil)

func (a *processAdapter) Init(ctx context.Context, req plugin.InitRequest) (pluginapi.Manifest, error) {
	m, err := a.p.Init(ctx, InitRequest{
		Config:   config(req.Config),
		Settings: &Settings{backend{s: req.Settings}},
		Logger:   req.Logger,
		declare: func(ctx context.Context, ds []pluginapi.Declaration) error {
			return req.Declare(ctx, ds...)
		},
	})
	if err != nil {
		return pluginapi.Manifest{}, err
	}
	m.Subscriptions = subscriptions(m)
	return m, nil
}

func (a *processAdapter) OnDeclared(ctx context.Context, d plugin.Delivery, e *event.Declared) error {
	return a.p.OnDeclared(ctx, delivery(d), e)
}

func (a *processAdapter) OnUpdateOK(ctx context.Context, d plugin.Delivery, e *event.UpdateOK) error {
	return a.p.OnUpdateOK(ctx, delivery(d), e)
}

func (a *processAdapter) OnUpdateError(ctx context.Context, d plugin.Delivery, e *event.UpdateError) error {
	return a.p.OnUpdateError(ctx, delivery(d), e)
}

func (a *processAdapter) OnSettingChanged(ctx context.Context, d plugin.Delivery, e *event.SettingChanged) error {
	return a.p.OnSettingChanged(ctx, delivery(d), e)
}

func (a *processAdapter) OnClosing(ctx context.Context, d plugin.Delivery, e *event.Closing) error {
	return a.p.OnClosing(ctx, delivery(d), e)
}

func delivery(d plugin.Delivery) Delivery {
	return Delivery{Seq: d.Seq, Dropped: d.Dropped, Unreadable: d.Unreadable}
}
