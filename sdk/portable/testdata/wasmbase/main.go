// Command wasmbase is the benchmarks' baseline: the guest's benchmark
// handler written on sdk/wasm directly (an update_ok whose ETag is "bench"
// looks limit up for env=prod as an int), to set beside the portable
// guest's. Built with GOOS=wasip1 only.
package main

import (
	"encoding/json"

	"github.com/heksher-go/heksher/sdk/wasm"
)

var prod = wasm.NewContext("env", "prod")

func init() {
	wasm.Init(func([]byte) error {
		return wasm.Declare(wasm.Declaration{Name: "limit", Type: "int", ConfigurableFeatures: []string{"env", "user"},
			Default: json.RawMessage("10")})
	})
	wasm.OnUpdateOK(func(_ wasm.Delivery, e wasm.UpdateOK) error {
		if e.ETag() != "bench" {
			return nil
		}
		_, err := wasm.GetInt("limit", prod)
		return err
	})
}

func main() {}
