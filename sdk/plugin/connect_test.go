package plugin

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
)

func TestWaitReady(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live.sock")
	ln, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-served
	})
	tests := []struct {
		name    string
		socket  string
		wantErr error
	}{
		{name: "server listening", socket: live},
		{name: "nobody listening", socket: filepath.Join(dir, "dead.sock"), wantErr: context.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := grpc.NewClient("unix://"+tc.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.Close() }()
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			err = waitReady(ctx, conn)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("waitReady = %v, want %v", err, tc.wantErr)
			}
			// NewClient starts idle: only waitReady can have connected it.
			if tc.wantErr == nil && conn.GetState() != connectivity.Ready {
				t.Errorf("state after waitReady = %v, want ready", conn.GetState())
			}
		})
	}
	t.Run("closed connection", func(t *testing.T) {
		conn, err := grpc.NewClient("unix://"+live, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.Close()
		if err := waitReady(context.Background(), conn); err == nil {
			t.Fatal("waitReady on a closed connection succeeded")
		}
	})
}
