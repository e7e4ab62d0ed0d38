package heksherof_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/heksherof"
	"github.com/heksher-go/heksher/hekshertest"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/hooks"
	"github.com/open-feature/go-sdk/openfeature/isolated"
)

// A service evaluates a Heksher setting through the OpenFeature go-sdk,
// with the go-sdk's own logging hook and a transaction context that
// carries the request's user.
func Example() {
	// A Heksher service: here the in-memory compatible one.
	srv := hekshertest.NewServer(&testing.T{}, hekshertest.WithContextFeatures("user", "theme"))
	defer srv.Close()

	p := heksherof.New(heksherof.WithTargetingFeature("user"))
	c, _ := heksher.NewClient(srv.URL, time.Minute, []string{"user", "theme"}, heksher.WithHooks(p))
	defer c.Close()
	_ = c.TrackContexts(map[string][]string{"user": {heksher.TrackAll}, "theme": {heksher.TrackAll}})
	cacheSize, _ := heksher.NewSetting("example_cache_size", heksher.Int(), []string{"user", "theme"}, 50, heksher.WithClient(c))
	p.UseClient(c)
	_ = c.Start(context.Background())
	_, _ = srv.AddRule(cacheSize.Name(), map[string]string{"user": "alice"}, 200)
	_ = c.Reload(context.Background())

	api := isolated.NewAPI() // or the go-sdk's global: openfeature.SetProviderAndWait(p)
	defer api.Shutdown(context.Background())
	_ = api.SetProviderAndWait(context.Background(), p)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	api.AddHooks(hooks.NewLoggingHook(false, logger))
	of := api.NewClient()

	// Per request: the user travels in the transaction context.
	ctx := openfeature.WithTransactionContext(context.Background(), openfeature.NewEvaluationContext("alice", map[string]any{"theme": "dark"}))
	d, _ := of.IntValueDetails(ctx, "example_cache_size", 10, openfeature.EvaluationContext{})
	fmt.Println(d.Value, d.Reason, d.FlagMetadata["condition.user"])

	ctx = openfeature.WithTransactionContext(context.Background(), openfeature.NewEvaluationContext("bob", map[string]any{"theme": "dark"}))
	d, _ = of.IntValueDetails(ctx, "example_cache_size", 10, openfeature.EvaluationContext{})
	fmt.Println(d.Value, d.Reason)
	// Output:
	// 200 TARGETING_MATCH alice
	// 50 DEFAULT
}
