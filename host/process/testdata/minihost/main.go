// Command minihost is a minimal host for the "host killed with SIGKILL"
// test: it starts the plugin binary given as its argument, prints the
// plugin's pid on stdout, and waits to be killed. Built by
// `make process-plugins`.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/heksher-go/heksher/host/hostapi"
	"github.com/heksher-go/heksher/host/process"
)

type noSettings struct{}

func (noSettings) Lookup(context.Context, string, string, []hostapi.Feature) (hostapi.Value, error) {
	return hostapi.Value{}, hostapi.ErrNotFound
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: minihost PLUGIN")
		os.Exit(2)
	}
	p, err := process.Start(context.Background(), process.Config{
		Name: "victim", Path: os.Args[1],
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}, noSettings{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(p.Status().Detail["pid"])
	select {}
}
