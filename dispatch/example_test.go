package dispatch_test

import (
	"context"
	"fmt"
	"time"

	"github.com/heksher-go/heksher/dispatch"
	"github.com/heksher-go/heksher/event"
)

// A dispatcher fans events out to subscribers, each with its own queue and
// per-delivery deadline; deliveries are numbered per subscriber.
func ExampleDispatcher() {
	d := dispatch.New()
	got := make(chan string, 8)
	_ = d.Subscribe("changes", event.SetOf(event.KindSettingChanged, event.KindClosing),
		dispatch.SubscriberFunc(func(ctx context.Context, del event.Delivery) error {
			switch e := del.Event.(type) {
			case *event.SettingChanged:
				got <- fmt.Sprintf("%d: %s changed", del.Seq, e.Setting)
			case *event.Closing:
				got <- fmt.Sprintf("%d: closing", del.Seq)
			}
			return nil
		}), dispatch.QueueSize(16), dispatch.Deadline(time.Second))

	d.Publish(&event.UpdateOK{Header: event.Header{Seq: 1}}) // not subscribed: skipped
	d.Publish(&event.SettingChanged{Header: event.Header{Seq: 2}, Setting: "size_limit"})
	d.Publish(&event.Closing{Header: event.Header{Seq: 3}})
	_ = d.Close(context.Background()) // delivers what is queued, then stops
	close(got)
	for line := range got {
		fmt.Println(line)
	}
	st := d.Stats()[0]
	fmt.Println(st.Name, st.Delivered, st.Dropped)
	// Output:
	// 1: size_limit changed
	// 2: closing
	// changes 2 0
}
