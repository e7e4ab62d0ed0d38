// Command minihost is a minimal host for the tests of the host's own end:
// it starts the plugin binary given as its first argument (with the JSON
// config given as the optional second), prints the plugin's pid on stdout,
// and waits. On SIGINT or SIGTERM it does what heksher-host does: it
// delivers the closing event to the plugin, stops it, prints "closed" and
// exits 0. The SIGKILL test kills it outright. Built by
// `make process-plugins`.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/process"
	"github.com/heksher-go/heksher/pluginapi"
)

type noSettings struct{}

func (noSettings) Lookup(context.Context, string, string, []pluginapi.Feature) (pluginapi.Value, error) {
	return pluginapi.Value{}, pluginapi.ErrNotFound
}

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: minihost PLUGIN [CONFIG_JSON]")
		os.Exit(2)
	}
	// Subscribe before the plugin starts, so that a signal arriving at any
	// time after the pid is printed takes the closing path.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	cfg := process.Config{
		Name: "victim", Path: os.Args[1],
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if len(os.Args) == 3 {
		cfg.Config = []byte(os.Args[2])
	}
	p, err := process.Start(context.Background(), cfg, noSettings{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(p.Status().Detail["pid"])
	s := <-sig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	closing := &event.Closing{Header: event.Header{Seq: 1, Time: time.Now()}}
	if err := p.Deliver(ctx, event.Delivery{Event: closing, Seq: 1}); err != nil {
		fmt.Fprintf(os.Stderr, "minihost: delivering closing after %v: %v\n", s, err)
		os.Exit(1)
	}
	if err := p.Close(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "minihost: close after %v: %v\n", s, err)
		os.Exit(1)
	}
	if st := p.Status(); st.Restarts != 0 {
		fmt.Fprintf(os.Stderr, "minihost: %d restarts during shutdown\n", st.Restarts)
		os.Exit(1)
	}
	fmt.Println("closed")
}
