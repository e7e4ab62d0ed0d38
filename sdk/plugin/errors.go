package plugin

import "errors"

// ErrNotLaunchedByHost is returned by [Serve] when the binary was started by
// hand rather than by the Heksher host. Its text says so in plain words, so
// main can print it and exit.
var ErrNotLaunchedByHost = errors.New("plugin: this binary is a Heksher plugin; it is started by the Heksher host (heksher-host), not by hand")
