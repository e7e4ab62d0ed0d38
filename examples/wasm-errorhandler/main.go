// Command wasm-errorhandler is an example wasm plugin: a custom handler of
// update errors. It counts consecutive failed updates and, once they reach
// the configured threshold, reports them at error level (again every
// threshold failures while they go on), and reports the recovery when an
// update succeeds.
//
// The count is the plugin's own, but it never falls behind the count the
// event carries, so a fresh instance (after a restart, or dropped events)
// picks the streak up where it is.
//
// Build it with `make wasm` (mk/wasm.mk).
package main

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/heksher-go/heksher/sdk/wasm"
)

type config struct {
	// Threshold is the number of failures in a row worth reporting; 3 if 0.
	Threshold int `json:"threshold"`
}

var (
	threshold = 3
	failures  int
	line      []byte
)

func init() {
	wasm.Init(setup)
	wasm.OnUpdateError(onUpdateError)
	wasm.OnUpdateOK(onUpdateOK)
}

func setup(raw []byte) error {
	var c config
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
	}
	if c.Threshold < 0 {
		return errors.New("threshold must not be negative")
	}
	if c.Threshold > 0 {
		threshold = c.Threshold
	}
	return nil
}

func onUpdateError(_ wasm.Delivery, e wasm.UpdateError) error {
	failures = max(failures+1, e.ConsecutiveFailures())
	if failures < threshold || (failures-threshold)%threshold != 0 {
		return nil
	}
	line = append(line[:0], "heksher updates are failing: "...)
	line = strconv.AppendInt(line, int64(failures), 10)
	line = append(line, " in a row; last error: "...)
	line = append(line, e.Message()...)
	wasm.Error(string(line))
	return nil
}

func onUpdateOK(wasm.Delivery, wasm.UpdateOK) error {
	if failures >= threshold {
		line = append(line[:0], "heksher updates recovered after "...)
		line = strconv.AppendInt(line, int64(failures), 10)
		line = append(line, " failures"...)
		wasm.Info(string(line))
	}
	failures = 0
	return nil
}

func main() {}
