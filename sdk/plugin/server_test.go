package plugin

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

// recorder records which handler ran.
type recorder struct {
	Base
	got     []string
	fail    error
	block   chan struct{}
	entered chan struct{}
}

func (r *recorder) hit(name string, d Delivery) error {
	r.got = append(r.got, name)
	if r.block != nil {
		close(r.entered)
		<-r.block
	}
	return r.fail
}

func (r *recorder) OnDeclared(_ context.Context, d Delivery, _ *event.Declared) error {
	return r.hit("declared", d)
}
func (r *recorder) OnUpdateOK(_ context.Context, d Delivery, _ *event.UpdateOK) error {
	return r.hit("update_ok", d)
}
func (r *recorder) OnUpdateError(_ context.Context, d Delivery, _ *event.UpdateError) error {
	return r.hit("update_error", d)
}
func (r *recorder) OnSettingChanged(_ context.Context, d Delivery, _ *event.SettingChanged) error {
	return r.hit("setting_changed", d)
}
func (r *recorder) OnClosing(_ context.Context, d Delivery, _ *event.Closing) error {
	return r.hit("closing", d)
}

func wire(t *testing.T, e event.Event) *pluginv1.Delivery {
	t.Helper()
	m, err := pluginv1.FromDelivery(event.Delivery{Event: e, Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestServer_Dispatch(t *testing.T) {
	tests := []struct {
		name string
		e    event.Event
	}{
		{name: "declared", e: &event.Declared{}},
		{name: "update_ok", e: &event.UpdateOK{}},
		{name: "update_error", e: &event.UpdateError{Err: errors.New("x")}},
		{name: "setting_changed", e: &event.SettingChanged{}},
		{name: "closing", e: &event.Closing{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{}
			s := &server{impl: r, turn: make(chan struct{}, 1)}
			if _, err := s.Deliver(context.Background(), wire(t, tc.e)); err != nil {
				t.Fatal(err)
			}
			if len(r.got) != 1 || r.got[0] != tc.name {
				t.Errorf("ran %v, want [%s]", r.got, tc.name)
			}
		})
	}
}

func TestServer_HandlerError(t *testing.T) {
	s := &server{impl: &recorder{fail: errors.New("no disk")}, turn: make(chan struct{}, 1)}
	_, err := s.Deliver(context.Background(), wire(t, &event.Closing{}))
	if st, _ := status.FromError(err); st.Code() != codes.Unknown || st.Message() != "no disk" {
		t.Fatalf("err = %v, want Unknown with the handler's text", err)
	}
}

// TestServer_OneAtATime: a call arriving while a handler still runs waits
// for it, but only until its own deadline.
func TestServer_OneAtATime(t *testing.T) {
	r := &recorder{block: make(chan struct{}), entered: make(chan struct{})}
	s := &server{impl: r, turn: make(chan struct{}, 1)}
	first := make(chan error, 1)
	go func() {
		_, err := s.Deliver(context.Background(), wire(t, &event.Closing{}))
		first <- err
	}()
	<-r.entered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := s.Deliver(ctx, wire(t, &event.Closing{}))
	if st, _ := status.FromError(err); st.Code() != codes.DeadlineExceeded {
		t.Errorf("second call = %v, want DeadlineExceeded", err)
	}
	close(r.block)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if len(r.got) != 1 {
		t.Errorf("handlers ran %d times, want 1", len(r.got))
	}
}

func TestServer_BadDelivery(t *testing.T) {
	s := &server{impl: Base{}, turn: make(chan struct{}, 1)}
	_, err := s.Deliver(context.Background(), &pluginv1.Delivery{Seq: 1})
	if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument {
		t.Fatalf("err = %v, want InvalidArgument", err)
	}
}

// TestServer_InitOnce: the connection to the host is dialled once per
// process; a second Init is refused rather than opening another.
func TestServer_InitOnce(t *testing.T) {
	conn, err := grpc.NewClient("passthrough:///unused", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	s := &server{impl: &recorder{}, turn: make(chan struct{}, 1), conn: conn}
	_, err = s.Init(context.Background(), &pluginv1.InitRequest{SettingsBrokerId: 7})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("second Init = %v, want FailedPrecondition", err)
	}
	if s.conn != conn {
		t.Error("second Init replaced the connection")
	}
}
