package host

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/internal/server"
)

// newEngine builds the embedded server's engine with the configured context
// features, seeded from the configured seed file (the heksher-devserver
// -seed format).
func newEngine(ctx context.Context, cfg config.Config, log *slog.Logger) (*server.Engine, error) {
	eng, err := server.New(server.Options{ContextFeatures: cfg.ContextFeatures, Logger: log,
		Watch: server.WatchOptions{Enabled: true}})
	if err != nil {
		return nil, fmt.Errorf("host: embedded server: %w", err)
	}
	if cfg.Embedded.Seed != "" {
		seed, err := server.LoadSeedFile(cfg.Embedded.Seed)
		if err != nil {
			return nil, fmt.Errorf("host: embedded.seed: %w", err)
		}
		if err := eng.ApplySeed(ctx, seed); err != nil {
			return nil, fmt.Errorf("host: embedded.seed %s: %w", cfg.Embedded.Seed, err)
		}
	}
	return eng, nil
}
