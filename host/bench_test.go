package host

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/heksher-go/heksher/dispatch"
	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/pluginapi"
)

// BenchmarkFanOut_Enqueue20 measures what the update loop pays to hand one
// event to 20 plugins: Publish into the dispatcher with 20 plugin
// subscriptions made by the host's manager. The plugins are held busy so
// that no delivery runs during the measurement; every queue is full, so
// each Publish also drops the oldest event of each queue (the steady state
// of a backlog, and the most expensive enqueue).
func BenchmarkFanOut_Enqueue20(b *testing.B) {
	for _, n := range []int{1, 20} {
		b.Run(fmt.Sprintf("plugins=%d", n), func(b *testing.B) {
			disp := dispatch.New()
			hold := make(chan struct{})
			loader := &fakeLoader{hangs: map[string]chan struct{}{}}
			m := &manager{
				log: discardLogger(), loaders: map[string]Loader{"wasm": loader}, disp: disp, reg: newRegistry(),
				settings: func(string, config.Grants) pluginapi.Settings { return nil }, running: map[string]*loadedPlugin{},
			}
			dir := b.TempDir()
			path := writeFake(b, dir, "p", fakeFile{Kinds: []string{"update_ok"}})
			var specs []config.Plugin
			for i := range n {
				name := fmt.Sprintf("p%d", i)
				loader.hangs[name] = hold
				specs = append(specs, config.Plugin{Name: name, Kind: "wasm", Path: path, QueueSize: 64, Deadline: config.Duration(time.Hour)})
			}
			if err := m.apply(context.Background(), specs); err != nil {
				b.Fatal(err)
			}
			e := &event.UpdateOK{Header: event.Header{Seq: 1, Time: time.Now()}}
			b.ReportAllocs()
			for b.Loop() {
				disp.Publish(e)
			}
			b.StopTimer()
			close(hold)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = disp.Close(ctx)
			_ = m.close(ctx)
		})
	}
}
