// Package demo holds the heksher-host demo's configuration; its test checks
// that the configuration and seed stay valid and that every plugin it names
// is built.
package demo

import (
	"os"
	"testing"

	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/internal/server"
)

func Test_main(t *testing.T) {
	cfg, err := config.Load("host.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Service.URL != "" || cfg.Embedded.Seed == "" {
		t.Fatalf("the demo runs the embedded server with a seed: %+v", cfg.Service)
	}
	kinds := map[string]bool{}
	for _, p := range cfg.Plugins {
		kinds[p.Kind] = true
		if _, err := os.Stat(p.Path); err != nil {
			t.Errorf("plugin %s: %v (run `make host-plugins`)", p.Name, err)
		}
	}
	if !kinds["wasm"] || !kinds["process"] {
		t.Errorf("the demo shows both plugin kinds, got %v", kinds)
	}
	seed, err := server.LoadSeedFile(cfg.Embedded.Seed)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range seed.Settings {
		names[s.Name] = true
	}
	if !names["banner"] || !names["discount"] {
		t.Errorf("seed settings %v", names)
	}
}
