// Command go-anywhere is one plugin source that builds as either kind of
// Heksher plugin: a wasm guest with GOOS=wasip1, a process plugin otherwise.
//
// It declares "alert_after" (an int configurable by env, default 3) and, on
// every failed update, reads it for env=prod: once the failures in a row
// reach it, it logs an alert at warning level.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//	go build -o bin/go-anywhere .
package main

import (
	"context"
	"fmt"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/portable"
)

type alerter struct {
	portable.Base
	portable.InitRequest // Config, Settings, Logger
}

func (a *alerter) Init(_ context.Context, req portable.InitRequest) (pluginapi.Manifest, error) {
	a.InitRequest = req
	return pluginapi.Manifest{Subscriptions: event.SetOf(event.KindUpdateError), Declarations: []pluginapi.Declaration{{
		Name: "alert_after", Type: "int", ConfigurableFeatures: []string{"env"}, Default: []byte("3")}}}, nil
}

func (a *alerter) OnUpdateError(ctx context.Context, _ portable.Delivery, e *event.UpdateError) error {
	after, err := portable.Get[int](ctx, a.Settings, "alert_after", pluginapi.Feature{Name: "env", Value: "prod"})
	if err != nil {
		return err // the delivery fails with the lookup's error; the host logs it
	}
	if e.ConsecutiveFailures >= after {
		a.Logger.Warn(fmt.Sprintf("ALERT: %d updates failed in a row: %v", e.ConsecutiveFailures, e.Err))
	}
	return nil
}

func init() { portable.Register(&alerter{}) } // a wasm guest starts here
func main() { portable.Main() }               // a process plugin starts here
