package heksherof_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/heksherof"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
)

// checkoutLimit is a setting the service under test reads through
// OpenFeature; it is declared once, like a package-level setting.
var checkoutLimit, _ = heksher.NewSetting("heksherof_test_checkout_limit", heksher.Int(), []string{"user"}, 3)

// limitFor is the code under test: it reads the limit through OpenFeature.
func limitFor(ctx context.Context, of *openfeature.Client, user string) int64 {
	return of.Int(ctx, "heksherof_test_checkout_limit", -1, openfeature.NewTargetlessEvaluationContext(map[string]any{"user": user}))
}

// Parallel tests each see their own values: an isolated OpenFeature API
// with its own provider, and a scoped stub whose context the evaluations
// carry. Each subtest patches a different value and reads it many times
// while the others do the same.
func TestParallelTestsSeeTheirOwnValues(t *testing.T) {
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			stub := heksher.NewScopedStub()
			heksher.PatchValue(t, stub, checkoutLimit, int64(100+i))
			api := isolated.NewAPI()
			t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
			if err := api.SetProviderAndWait(t.Context(), heksherof.New(heksherof.WithSettings(checkoutLimit))); err != nil {
				t.Fatal(err)
			}
			ctx := stub.Context(t.Context())
			of := api.NewClient()
			for range 200 {
				if got := limitFor(ctx, of, "u"); got != int64(100+i) {
					t.Fatalf("got %d, want %d", got, 100+i)
				}
			}
			// Without the stub's context: the setting's own default.
			if got := limitFor(t.Context(), of, "u"); got != 3 {
				t.Fatalf("outside the stub: %d, want the default 3", got)
			}
		})
	}
}

func isolatedAPI(tb testing.TB, fp openfeature.FeatureProvider) *openfeature.EvaluationAPI {
	api := isolated.NewAPI()
	tb.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	if err := api.SetProviderAndWait(context.Background(), fp); err != nil {
		tb.Fatal(err)
	}
	return api
}
