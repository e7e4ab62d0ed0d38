package heksher

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/heksher-go/heksher/event"
)

// Hook receives a client's events. Every method runs on the hook's own worker
// goroutine (never on the update loop, never inside Get), one event at a
// time, in the order the client numbered them (event.Header.Seq). A method
// should return promptly and must stop when ctx is done (ctx carries the
// per-event deadline, see [WithHookLimits]); a method that overruns is
// abandoned and the next event is delivered. A panic is recovered and
// logged. Events are shared and must not be modified.
//
// Embed [NopHook] to implement only the methods you need; methods added to
// Hook later will then not break you.
type Hook interface {
	// OnDeclared fires after each declaration was answered (or failed), with
	// the outcome and whether the setting is now tracked.
	OnDeclared(ctx context.Context, e *event.Declared)
	// OnUpdateOK fires after each successful update attempt (a 200 applied,
	// or a 304), exactly once per such attempt. e.Rejected lists the server
	// values the client refused.
	OnUpdateOK(ctx context.Context, e *event.UpdateOK)
	// OnUpdateError fires after each failed update attempt, exactly once per
	// such attempt; the last good values stay in force.
	OnUpdateError(ctx context.Context, e *event.UpdateError)
	// OnSettingChanged fires for each setting whose rules or server default
	// really changed in an update, before that update's OnUpdateOK.
	OnSettingChanged(ctx context.Context, e *event.SettingChanged)
	// OnClosing fires once, last, when the client closes.
	OnClosing(ctx context.Context, e *event.Closing)
}

// NopHook implements [Hook] with methods that do nothing; embed it.
//
//	type auditHook struct{ heksher.NopHook }
//
//	func (auditHook) OnSettingChanged(ctx context.Context, e *event.SettingChanged) { … }
type NopHook struct{}

var _ Hook = NopHook{}

// OnDeclared does nothing.
func (NopHook) OnDeclared(context.Context, *event.Declared) {}

// OnUpdateOK does nothing.
func (NopHook) OnUpdateOK(context.Context, *event.UpdateOK) {}

// OnUpdateError does nothing.
func (NopHook) OnUpdateError(context.Context, *event.UpdateError) {}

// OnSettingChanged does nothing.
func (NopHook) OnSettingChanged(context.Context, *event.SettingChanged) {}

// OnClosing does nothing.
func (NopHook) OnClosing(context.Context, *event.Closing) {}

// hookSubscriber adapts a Hook to a dispatch subscriber.
type hookSubscriber struct {
	h   Hook
	log *slog.Logger
}

func (s hookSubscriber) Deliver(ctx context.Context, d event.Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("heksher: hook panicked", "kind", d.Event.Kind().String(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("heksher: hook panicked: %v", r)
		}
	}()
	switch e := d.Event.(type) {
	case *event.Declared:
		s.h.OnDeclared(ctx, e)
	case *event.UpdateOK:
		s.h.OnUpdateOK(ctx, e)
	case *event.UpdateError:
		s.h.OnUpdateError(ctx, e)
	case *event.SettingChanged:
		s.h.OnSettingChanged(ctx, e)
	case *event.Closing:
		s.h.OnClosing(ctx, e)
	}
	return nil
}
