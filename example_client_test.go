package heksher_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/hekshertest"
)

// newExampleServer starts the compatible server with one setting and a rule.
func newExampleServer() *hekshertest.Server {
	srv := hekshertest.NewServer(&testing.T{}, hekshertest.WithContextFeatures("user", "theme"),
		hekshertest.WithSettings(hekshertest.Setting{Name: "size_limit", Type: "int", Default: 200,
			ConfigurableFeatures: []string{"user", "theme"},
			Rules:                []hekshertest.Rule{{Conditions: map[string]string{"user": "admin"}, Value: 1000}}}))
	return srv
}

// A client declares the settings, keeps them up to date, and supplies
// defaults to Get.
func ExampleNewClient() {
	heksher.ResetMainForTesting()
	defer heksher.ResetMainForTesting()
	srv := newExampleServer()
	defer srv.Close()

	sizeLimit, _ := heksher.NewSetting("size_limit", heksher.Int(), []string{"user", "theme"}, 200)
	client, err := heksher.NewClient(srv.URL, time.Minute, []string{"user", "theme"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	_ = client.TrackContexts(map[string][]string{"user": {"admin"}, "theme": {heksher.TrackAll}})
	_ = client.SetDefaults(map[string]heksher.Default{"theme": heksher.Static("light")})
	if err := client.SetAsMain(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	admin, _ := sizeLimit.Get(context.Background(), map[string]string{"user": "admin"})
	guest, _ := sizeLimit.Get(context.Background(), map[string]string{"user": "guest"})
	fmt.Println(admin, guest)
	// Output: 1000 200
}

// Reload fetches the service's data now and returns how it went.
func ExampleClient_Reload() {
	heksher.ResetMainForTesting()
	defer heksher.ResetMainForTesting()
	srv := newExampleServer()
	defer srv.Close()

	sizeLimit, _ := heksher.NewSetting("size_limit", heksher.Int(), []string{"user", "theme"}, 200)
	client, _ := heksher.NewClient(srv.URL, time.Hour, []string{"user", "theme"})
	defer client.Close()
	_ = client.TrackContexts(map[string][]string{"user": {"admin", "bob"}, "theme": {heksher.TrackAll}})
	if err := client.SetAsMain(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	_, _ = srv.AddRule("size_limit", map[string]string{"user": "bob"}, 50)
	if err := client.Reload(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	bob, _ := sizeLimit.Get(context.Background(), map[string]string{"user": "bob", "theme": "dark"})
	fmt.Println(bob, client.Status().LastResult)
	// Output: 50 ok
}

// The main client is the one settings register with; it stays in the slot
// after Close.
func ExampleMainClient() {
	heksher.ResetMainForTesting()
	defer heksher.ResetMainForTesting()
	srv := newExampleServer()
	defer srv.Close()

	client, _ := heksher.NewClient(srv.URL, time.Hour, []string{"user", "theme"})
	fmt.Println(heksher.MainClient() == nil)
	_ = client.SetAsMain(context.Background())
	_ = client.Close()
	fmt.Println(heksher.MainClient() == client)
	// Output:
	// true
	// true
}

// The lifecycle sentinels.
func ExampleErrNotRunning() {
	client, _ := heksher.NewClient("http://127.0.0.1:1", time.Hour, nil)
	err := client.Reload(context.Background())
	fmt.Println(errors.Is(err, heksher.ErrNotRunning))
	_ = client.Close()
	err = client.SetAsMain(context.Background())
	fmt.Println(errors.Is(err, heksher.ErrClosed))
	// Output:
	// true
	// true
}

func ExampleErrAlreadyMain() {
	heksher.ResetMainForTesting()
	defer heksher.ResetMainForTesting()
	srv := newExampleServer()
	defer srv.Close()
	client, _ := heksher.NewClient(srv.URL, time.Hour, []string{"user", "theme"})
	defer client.Close()
	_ = client.SetAsMain(context.Background())
	err := client.SetAsMain(context.Background())
	fmt.Println(errors.Is(err, heksher.ErrAlreadyMain))
	// Output: true
}

// ErrInvalidTracking: TrackAll cannot be added to a feature that already
// tracks values; nothing of the call is applied.
func ExampleErrInvalidTracking() {
	client, _ := heksher.NewClient("http://127.0.0.1:1", time.Hour, []string{"user"})
	defer client.Close()
	_ = client.TrackContexts(map[string][]string{"user": {"admin"}})
	err := client.TrackContexts(map[string][]string{"user": {heksher.TrackAll}})
	fmt.Println(errors.Is(err, heksher.ErrInvalidTracking))
	// Output: true
}

// ErrDuplicateDefault: a default can be neither replaced nor removed.
func ExampleErrDuplicateDefault() {
	client, _ := heksher.NewClient("http://127.0.0.1:1", time.Hour, []string{"theme"})
	defer client.Close()
	_ = client.SetDefaults(map[string]heksher.Default{"theme": heksher.Static("light")})
	err := client.SetDefaults(map[string]heksher.Default{"theme": heksher.Static("dark")})
	fmt.Println(errors.Is(err, heksher.ErrDuplicateDefault))
	// Output: true
}

// ErrMainSwitch: a client with other context features cannot take over.
func ExampleErrMainSwitch() {
	heksher.ResetMainForTesting()
	defer heksher.ResetMainForTesting()
	srv := newExampleServer()
	defer srv.Close()
	first, _ := heksher.NewClient(srv.URL, time.Hour, []string{"user", "theme"})
	_ = first.SetAsMain(context.Background())
	_ = first.Close()
	second, _ := heksher.NewClient(srv.URL, time.Hour, []string{"user"})
	defer second.Close()
	err := second.SetAsMain(context.Background())
	var mse *heksher.MainSwitchError
	fmt.Println(errors.Is(err, heksher.ErrMainSwitch), errors.As(err, &mse))
	// Output: true true
}

// HTTPError carries the status and body of a failed answer.
func ExampleHTTPError() {
	srv := newExampleServer()
	defer srv.Close()
	srv.EnqueueFault(hekshertest.Fault{Status: http.StatusServiceUnavailable, Body: "maintenance"})
	client, _ := heksher.NewClient(srv.URL, time.Hour, nil)
	defer client.Close()
	err := client.Ping(context.Background())
	var he *heksher.HTTPError
	if errors.As(err, &he) {
		fmt.Println(he.StatusCode, string(he.Body))
	}
	// Output: 503 maintenance
}

// With a degraded start, an unreachable service does not fail SetAsMain: the
// client serves defaults (or a saved snapshot) and keeps retrying.
func ExampleWithDegradedStart() {
	heksher.ResetMainForTesting()
	defer heksher.ResetMainForTesting()
	srv := newExampleServer()
	srv.Stop() // the service is down at start

	sizeLimit, _ := heksher.NewSetting("size_limit", heksher.Int(), []string{"user", "theme"}, 200)
	client, _ := heksher.NewClient(srv.URL, time.Hour, []string{"user", "theme"},
		heksher.WithDegradedStart(heksher.Backoff{Initial: 10 * time.Millisecond, Max: time.Second}))
	defer client.Close()
	err := client.SetAsMain(context.Background())
	v, _ := sizeLimit.Get(context.Background(), map[string]string{"user": "admin", "theme": "dark"})
	st := client.Status()
	fmt.Println(err, v, st.Origin, st.LastResult, st.RetryingDeclarations)
	srv.Close()
	// Output: <nil> 200 defaults error 1
}
