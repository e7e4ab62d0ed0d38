// Command tour is the README's tour of the client as a program that compiles
// (the README shows the code between the "tour" markers, and a test checks
// that it still does). Point it at any Heksher v1 service, for example the
// compatible development server:
//
//	go run ./cmd/heksher-devserver -context-features user,trust,theme &
//	go run ./examples/tour -url http://127.0.0.1:8765
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/heksher-go/heksher"
)

// tour:settings
// Settings are usually package-level variables: they wait for the first client that becomes main.
var sizeLimit = must(heksher.NewSetting("size_limit", heksher.Int(), []string{"user", "theme"}, 100))

// must stops the program at start when a setting's declaration is wrong.
func must[T any](s *heksher.Setting[T], err error) *heksher.Setting[T] {
	if err != nil {
		panic(err)
	}
	return s
}

// tour:end

func main() {
	url := flag.String("url", "http://127.0.0.1:8765", "base URL of the Heksher service")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, *url, os.Stdout, logger, heksher.NopHook{}); err != nil {
		fmt.Fprintln(os.Stderr, "tour:", err)
		os.Exit(1)
	}
}

// run is the whole program, separated from main so that it can be tested.
func run(ctx context.Context, url string, out io.Writer, logger *slog.Logger, myHook heksher.Hook) error {
	// tour:client
	client, err := heksher.NewClient(url, 30*time.Second, []string{"user", "trust", "theme"},
		heksher.WithLogger(logger), heksher.WithHooks(myHook))
	if err != nil {
		return err
	}
	defer client.Close()
	err = client.TrackContexts(map[string][]string{"user": {"admin", "guest"}, "theme": {heksher.TrackAll}})
	if err != nil {
		return err
	}
	err = client.SetDefaults(map[string]heksher.Default{"theme": heksher.Static("light")})
	if err != nil {
		return err
	}
	if err := client.SetAsMain(ctx); err != nil { // declares pending settings, runs the first update
		return err
	}

	n, err := sizeLimit.Get(ctx, map[string]string{"user": "admin"}) // lock-free, allocation-free
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "size_limit for admin:", n)

	f := heksher.NewFeatures(ctx, map[string]string{"user": "admin"}) // once per request
	n, err = sizeLimit.GetFor(ctx, f)                                 // ~40 ns
	// tour:end
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "size_limit for the same admin, features prepared:", n)
	return client.Close()
}
