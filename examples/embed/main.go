// Command embed shows a program that embeds the Heksher client: it declares
// two settings, makes the client main, reads the settings for a few users,
// reloads, and closes cleanly. Point it at any Heksher v1 service, for
// example the compatible development server:
//
//	go run ./cmd/heksher-devserver -seed examples/embed/seed.yaml &
//	go run ./examples/embed -url http://127.0.0.1:8765
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/event"
)

func main() {
	url := flag.String("url", envOr("HEKSHER_URL", "http://127.0.0.1:8765"), "base URL of the Heksher service")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(ctx, *url, os.Stdout, logger); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// changes is a hook: it prints each setting whose value changed on the
// service. It runs on its own goroutine, never on the update path.
type changes struct {
	heksher.NopHook
	out chan<- string
}

func (h changes) OnSettingChanged(_ context.Context, e *event.SettingChanged) {
	h.out <- fmt.Sprintf("changed: %s (%d rules)", e.Setting, len(e.New.Rules))
}

// run is the whole program, separated from main so that it can be tested.
func run(ctx context.Context, url string, out io.Writer, logger *slog.Logger) error {
	// Settings are usually package-level variables; they wait for the first
	// client that becomes main.
	sizeLimit, err := heksher.NewSetting("size_limit", heksher.Int(), []string{"user", "theme"}, 100)
	if err != nil {
		return err
	}
	greeting, err := heksher.NewSetting("greeting", heksher.Str(), []string{"user"}, "hi")
	if err != nil {
		return err
	}

	changed := make(chan string, 16)
	client, err := heksher.NewClient(url, 30*time.Second, []string{"user", "trust", "theme"},
		heksher.WithLogger(logger), heksher.WithHooks(changes{out: changed}))
	if err != nil {
		return err
	}
	defer client.Close()
	if err := client.TrackContexts(map[string][]string{"user": {"admin", "guest"}, "theme": {heksher.TrackAll}}); err != nil {
		return err
	}
	if err := client.SetDefaults(map[string]heksher.Default{"theme": heksher.Static("light")}); err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.SetAsMain(startCtx); err != nil {
		var he *heksher.HTTPError
		if errors.As(err, &he) {
			return fmt.Errorf("the service answered %d: %w", he.StatusCode, err)
		}
		return err
	}

	for _, user := range []string{"admin", "guest"} {
		size, err := sizeLimit.Get(ctx, map[string]string{"user": user})
		if err != nil {
			return err
		}
		hello, err := greeting.Get(ctx, map[string]string{"user": user})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: size_limit=%d greeting=%q\n", user, size, hello)
	}
	if err := client.Reload(ctx); err != nil {
		return err
	}
	st := client.Status()
	fmt.Fprintf(out, "status: %s, %d settings tracked, last update %s\n", st.Origin, st.Tracked, st.LastResult)
	if err := client.Close(); err != nil { // delivers the hook's events
		return err
	}
	close(changed)
	for line := range changed {
		fmt.Fprintln(out, line)
	}
	return nil
}
