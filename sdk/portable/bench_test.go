package portable_test

import (
	"path/filepath"
	"testing"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/plugintest"
)

// BenchmarkDeliverWithLookup delivers one event whose handler makes one
// lookup (limit for env=prod, decoded as an int), through plugintest as the
// host delivers it: the portable guest built as a wasm module and as a
// process plugin, and the same handler written on sdk/wasm directly, in
// one run, so that the portable layer's cost in a wasm guest (copying the
// event, encoding/json) shows beside the bare SDK's.
func BenchmarkDeliverWithLookup(b *testing.B) {
	wasmPath, procPath := build(b, "testdata/guest")
	base := filepath.Join(b.TempDir(), "base.wasm")
	goBuild(b, "testdata/wasmbase", base, true)
	if b.Failed() {
		b.FailNow()
	}
	for _, bc := range []struct {
		name string
		path string
	}{
		{"wasm-sdk", base},
		{"wasm-portable", wasmPath},
		{"process-portable", procPath},
	} {
		b.Run(bc.name, func(b *testing.B) {
			settings := plugintest.NewSettings(map[string]string{"user": "guest"},
				plugintest.Setting{Name: "limit", Rules: []event.Rule{rule(11, 7, "env", "prod")}})
			p := open(b, bc.path, plugintest.Options{Name: "bench", Settings: settings, MaxLogLines: 1})
			ev := &event.UpdateOK{ETag: "bench", Changed: []string{"limit"}}
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Send(b.Context(), ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
