package hekshertest_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/heksher-go/heksher/hekshertest"
)

// A client's error handling is tested by scripting faults: here the first
// query fails with a 503, the second gets a body cut half-way, and the
// third is served normally. The request record shows what was sent.
func ExampleServer_EnqueueFault() {
	t := &testing.T{} // in a real test, use the test's t
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user"))
	defer srv.Close()
	isQuery := func(r *http.Request) bool { return r.URL.Path == "/api/v1/query" }
	srv.EnqueueFault(hekshertest.Fault{Match: isQuery, Status: http.StatusServiceUnavailable, Body: "busy"})
	srv.EnqueueFault(hekshertest.Fault{Match: isQuery, CutBody: true})

	for range 3 {
		resp, err := srv.Client().Get(srv.URL + "/api/v1/query")
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			fmt.Println(resp.StatusCode, "then", err)
			continue
		}
		fmt.Println(resp.StatusCode, string(body))
	}
	fmt.Println(len(srv.Requests()), "requests received")
	// Output:
	// 503 busy
	// 200 then unexpected EOF
	// 200 {"settings":{}}
	// 3 requests received
}
