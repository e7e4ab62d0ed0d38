package hekshertest_test

import (
	"fmt"
	"io"
	"testing"

	"github.com/heksher-go/heksher/hekshertest"
)

func ExampleNewServer() {
	t := &testing.T{} // in a real test, use the test's t
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"))
	defer srv.Close()
	_ = srv.Declare(hekshertest.Setting{Name: "color", Type: `Enum["blue","red"]`, Default: "blue",
		ConfigurableFeatures: []string{"theme"}})
	_, _ = srv.AddRule("color", map[string]string{"theme": "dark"}, "red")

	resp, err := srv.Client().Get(srv.URL + "/api/v1/query?settings=color")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// 200 {"settings":{"color":{"default_value":"blue","rules":[{"value":"red","context_features":[["theme","dark"]],"rule_id":1}]}}}
}
