// Command flood is a process plugin that floods the host's log from the
// moment it is initialised until it is killed, as a hostile plugin would.
// Built by `make process-plugins`; tests and benchmarks of the output budget
// load it.
//
// Its config chooses the flood: {"mode": "stdio"} writes, from four
// goroutines, 1 KiB lines straight to the process's stdout and stderr (file
// descriptors 1 and 2, which the host reads itself), 20 KiB lines to stderr,
// and 1 KiB lines to os.Stdout and os.Stderr (which go-plugin forwards to
// the host over gRPC); {"mode": "hclog"} logs 1 KiB records through
// InitRequest.Logger (JSON records on stderr that go-plugin decodes) in a
// loop. Each line says which door it came through.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/plugin"
)

type flood struct {
	plugin.Base
}

func (flood) Init(_ context.Context, req plugin.InitRequest) (pluginapi.Manifest, error) {
	var cfg struct {
		Mode string `json:"mode"`
	}
	if err := json.Unmarshal(req.Config, &cfg); err != nil {
		return pluginapi.Manifest{}, err
	}
	line := strings.Repeat("x", 1<<10)
	switch cfg.Mode {
	case "stdio":
		// go-plugin's Serve replaced os.Stdout and os.Stderr with pipes it
		// forwards; descriptors 1 and 2 are still the process's own.
		fd1, fd2 := os.NewFile(1, "stdout"), os.NewFile(2, "stderr")
		long := strings.Repeat("y", 20<<10)
		go forever(func() { _, _ = fmt.Fprintln(fd1, "raw stdout", line) })
		go forever(func() {
			_, _ = fmt.Fprintln(fd2, "raw stderr", line)
			_, _ = fmt.Fprintln(fd2, "raw stderr long", long)
		})
		go forever(func() { fmt.Println("forwarded stdout", line) })
		go forever(func() { fmt.Fprintln(os.Stderr, "forwarded stderr", line) })
	case "hclog":
		go forever(func() { req.Logger.Info("hclog flood", "line", line) })
	default:
		return pluginapi.Manifest{}, fmt.Errorf("flood: unknown mode %q", cfg.Mode)
	}
	return pluginapi.Manifest{}, nil
}

// forever calls f until the process ends.
func forever(f func()) {
	for {
		f()
	}
}

func main() {
	if err := plugin.Serve(flood{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
