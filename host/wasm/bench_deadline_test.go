package wasm

import (
	"context"
	"testing"
	"time"

	"github.com/heksher-go/heksher/internal/abi"
)

// BenchmarkDeadline compares, in one run, the two ways of bounding a
// delivery in a runtime with close-on-context-done, on the Go test guest
// (setting-changed, noop handler) and on the WAT example:
//
//   - "ctxdeadline": the call's context carries the deadline
//     (context.WithDeadline per call), so wazero's per-call goroutine watches
//     it; this is how deliveries were bounded before the watchdog;
//   - "watchdog": what Deliver does: the call's context has no Done channel
//     and the instance's reusable timer closes the module at the deadline;
//   - "watchdog-cancelable": the same with a caller context that can be
//     cancelled (context.AfterFunc watches it);
//   - "nodeadline": a runtime without close-on-context-done, for reference.
func BenchmarkDeadline(b *testing.B) {
	guests := []struct{ name, path, setting string }{
		{"go", guestWasm, "noop"},
		{"wat", watPluginWasm, "motd"},
	}
	for _, g := range guests {
		for _, mode := range []string{"ctxdeadline", "watchdog", "watchdog-cancelable", "nodeadline"} {
			b.Run(g.name+"/"+mode, func(b *testing.B) {
				r, _ := newTestRuntime(b)
				p := mustLoad(b, r, PluginConfig{Name: "bench", Path: g.path, DisablePreemption: mode == "nodeadline", Deadline: 10 * time.Second}, nil)
				d := changed(g.setting)
				ctx := context.Background()
				if mode == "watchdog-cancelable" {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(ctx)
					defer cancel()
				}
				b.ReportAllocs()
				for b.Loop() {
					if mode != "ctxdeadline" {
						if err := p.Deliver(ctx, d); err != nil {
							b.Fatal(err)
						}
						continue
					}
					// Deliver's path with the deadline in the call's context.
					inst := p.inst
					payload, err := abi.AppendDelivery(inst.enc[:0], d)
					if err != nil {
						b.Fatal(err)
					}
					inst.enc = payload
					callCtx, cancel := p.callContext(ctx, inst, p.cfg.Deadline)
					status, err := inst.callWithPayload(callCtx, inst.hooks[d.Event.Kind()], payload)
					cancel()
					if err != nil || status != abi.StatusOK {
						b.Fatal(status, err)
					}
				}
			})
		}
	}
}
