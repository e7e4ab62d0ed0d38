package host

import (
	"fmt"
	"log/slog"

	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/internal/server"
)

// newEngine builds the embedded server's engine with the configured context
// features, seeded from the configured seed file.
func newEngine(cfg config.Config, log *slog.Logger) (*server.Engine, error) {
	eng, err := server.New(server.Options{ContextFeatures: cfg.ContextFeatures, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("host: embedded server: %w", err)
	}
	if cfg.Embedded.Seed != "" {
		return nil, fmt.Errorf("host: embedded.seed: seed files are not supported by this build yet")
	}
	return eng, nil
}
