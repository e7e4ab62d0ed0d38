package wasm

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestLongCallThreadPriority checks that the OS thread running a guest that
// floods its log (through the log host function, or stdout and stderr) is
// lowered to lowNice while the guest runs, and that its priority is back
// once the call returns, whether the deadline or Close stopped it. Without
// the lowering the poll for lowNice times out.
func TestLongCallThreadPriority(t *testing.T) {
	if !canLowerPriority() {
		t.Skip("this process cannot restore a thread's priority (needs CAP_SYS_NICE or RLIMIT_NICE)")
	}
	// Threads are lowered only with Go Ps to spare, as heksher-host sets.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(runtime.NumCPU() + 2))
	for _, tc := range []struct{ stopBy, setting string }{{"deadline", "logflood"}, {"close", "stdoutflood"}} {
		stopBy := tc.stopBy
		t.Run(stopBy+"/"+tc.setting, func(t *testing.T) {
			r, _ := newTestRuntime(t)
			deadline := time.Hour
			if stopBy == "deadline" {
				deadline = 3 * time.Second
			}
			p := mustLoad(t, r, PluginConfig{Name: "flood", Path: guestWasm, Deadline: deadline}, nil)
			t.Cleanup(func() { _ = p.Close(context.Background()) })

			type result struct {
				before, after int
				err           error
			}
			tids := make(chan int, 1)
			res := make(chan result, 1)
			go func() {
				runtime.LockOSThread() // the call runs on this goroutine's thread
				defer runtime.UnlockOSThread()
				tid := unix.Gettid()
				before, _ := threadNice(tid)
				tids <- tid
				err := p.Deliver(context.Background(), changed(tc.setting))
				after, _ := threadNice(tid)
				res <- result{before, after, err}
			}()
			tid := <-tids
			lowered := false
			for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
				if n, err := threadNice(tid); err == nil && n == lowNice {
					lowered = true
					break
				}
			}
			if stopBy == "close" {
				if err := p.Close(context.Background()); err != nil {
					t.Errorf("close: %v", err)
				}
			}
			var got result
			select {
			case got = <-res:
			case <-time.After(10 * time.Second):
				t.Fatal("the flooding call did not return within 10 s")
			}
			if !lowered {
				t.Errorf("the thread running the flooding guest was not lowered to nice %d within 5 s", lowNice)
			}
			if got.after != got.before {
				t.Errorf("nice after the call = %d, want %d as before it", got.after, got.before)
			}
			want := ErrTimeout
			if stopBy == "close" {
				want = ErrClosed
			}
			if !errors.Is(got.err, want) {
				t.Errorf("err = %v, want %v", got.err, want)
			}
		})
	}
}
