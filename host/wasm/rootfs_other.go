//go:build !linux

package wasm

import (
	"os"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
)

// sysOpenFlag converts the open flags that the os package does not name;
// outside Linux only those of the os package are passed on.
func sysOpenFlag(experimentalsys.Oflag) int { return 0 }

// setAppend is not supported outside Linux: a file's append mode is the one
// it was opened with.
func setAppend(*os.File, bool) experimentalsys.Errno { return experimentalsys.ENOSYS }

// futimens is not supported outside Linux; wazero then sets the times by
// path, beneath the root.
func futimens(*os.File, int64, int64) experimentalsys.Errno { return experimentalsys.ENOSYS }
