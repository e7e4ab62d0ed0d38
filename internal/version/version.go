// Package version tells which version of heksher-go a binary is, for the
// commands' -version flag and the host's status API.
//
// The version comes from the first of these that is known:
//
//  1. [Version], set at link time:
//     go build -ldflags '-X github.com/heksher-go/heksher/internal/version.Version=v1.2.3'
//     (the Makefile sets it from `git describe`);
//  2. the main module's version in the binary's build information: the tag
//     for `go install …@v1.2.3`, a pseudo-version for a build in a git
//     checkout;
//  3. the version-control revision the go command stamped
//     ("devel-0123456789ab", with "-dirty" when the tree had changes);
//  4. "devel".
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version overrides the version read from the build information when it is
// not empty. It is exported, and a variable, only so that the linker's -X flag
// can set it under a documented name; nothing assigns it at run time.
var Version string

// String returns the binary's version (see the package documentation for
// where it comes from).
func String() string {
	bi, ok := debug.ReadBuildInfo()
	return resolve(Version, bi, ok)
}

// Line returns the line a command prints for -version: its name, its version,
// the Go version that built it and the platform, for example
// "heksher-host v1.2.3 go1.26.8 linux/amd64".
func Line(command string) string {
	return fmt.Sprintf("%s %s %s %s/%s", command, String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// resolve picks the version from a link-time value and build information.
func resolve(linked string, bi *debug.BuildInfo, ok bool) string {
	if linked != "" {
		return linked
	}
	if !ok || bi == nil {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	v := "devel-" + rev
	if modified {
		v += "-dirty"
	}
	return v
}
