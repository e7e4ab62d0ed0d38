package relay_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/relay"
)

// A relay mirrors a service and answers its clients' queries as the
// service would.
func ExampleNew() {
	svc := hekshertest.NewServer(&testing.T{}, hekshertest.WithContextFeatures("user"),
		hekshertest.WithSettings(hekshertest.Setting{Name: "size_limit", Type: "int", Default: 200,
			ConfigurableFeatures: []string{"user"},
			Rules:                []hekshertest.Rule{{Conditions: map[string]string{"user": "admin"}, Value: 1000}}}))
	defer svc.Close()

	ctx := context.Background()
	r, err := relay.New(ctx, relay.Options{Upstream: svc.URL, Interval: time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = r.Close(ctx) }()
	if err := r.Wait(ctx); err != nil {
		fmt.Println(err)
		return
	}
	srv, err := r.Listen(ctx, relay.ListenOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = srv.Close(ctx) }()

	resp, err := http.Get(srv.URL() + "/api/v1/query?settings=size_limit")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 {"settings":{"size_limit":{"default_value":200,"rules":[{"value":1000,"context_features":[["user","admin"]],"rule_id":1}]}}}
}
