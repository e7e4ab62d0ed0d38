package host

import (
	"context"
	"log/slog"
	"os"

	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/host/process"
	"github.com/heksher-go/heksher/pluginapi"
)

// ProcessLoader returns the [Loader] for process plugins: each plugin runs
// as its own supervised process (package host/process), checked by SHA-256
// before every start, with only its granted environment variables.
func ProcessLoader(log *slog.Logger) Loader {
	return LoaderFunc(func(ctx context.Context, spec PluginSpec) (pluginapi.Plugin, error) {
		return process.Start(ctx, process.Config{
			Name:         spec.Name,
			Path:         spec.Path,
			SHA256:       spec.SHA256,
			Config:       spec.Config,
			Deadline:     spec.Deadline,
			StartTimeout: spec.StartTimeout,
			Env:          grantedEnv(spec.Grants),
			Logger:       log,
			Output:       spec.Output,
		}, spec.Settings)
	})
}

// grantedEnv returns NAME=value for each granted variable that is set.
func grantedEnv(g config.Grants) []string {
	var env []string
	for _, name := range g.Env {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return env
}
