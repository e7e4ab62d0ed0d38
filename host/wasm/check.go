package wasm

import (
	"context"
	"slices"
)

// Check does what [Runtime.Load] does before it makes an instance, and
// nothing more: it reads cfg's module, checks its SHA-256 (cfg.SHA256) and
// header, compiles it under cfg's memory limit (a module whose minimum
// memory exceeds it does not compile) and validates it against ABI v1
// (docs/ABI.md §7). None of the module's code runs: no instance is made,
// so no start function, _initialize or heksher_init is called, and cfg.Config
// is not used. The compiled module stays in the runtime's compilation cache,
// so a Load that follows does not compile it again.
//
// It returns warnings about a valid module: exports that look like misspelt
// ABI exports, which the host would never call (e.g. heksher_on_setting_change).
//
// # Errors
//
// Those of Load up to validation: a bad config, a module that cannot be
// read, [ErrChecksum], [ErrInvalidModule] (a [*ValidationError] listing every
// problem of a module that compiles), [ErrClosed].
func (r *Runtime) Check(ctx context.Context, cfg PluginConfig) (warnings []string, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g, c, err := r.compiled(ctx, cfg)
	if err != nil {
		return nil, err
	}
	warnings = slices.Clone(c.warnings)
	r.release(g, c)
	return warnings, nil
}
