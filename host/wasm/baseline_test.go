package wasm

import (
	"context"
	"testing"

	"github.com/heksher-go/heksher/pluginapi"
)

// BenchmarkSettingsBaseline is the floor under every lookup figure: the
// test Settings' own lookup (an RWMutex and two map reads), called directly.
func BenchmarkSettingsBaseline(b *testing.B) {
	s := newSettings()
	feats := []pluginapi.Feature{{Name: "env", Value: "prod"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Lookup(ctx, "bench", "answer", feats); err != nil {
			b.Fatal(err)
		}
	}
}
