package main

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/heksherof"
	"github.com/heksher-go/heksher/hekshertest"
	"github.com/open-feature/go-sdk/openfeature"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func Test_main(t *testing.T) {
	// No reset before the run: it would drop the package-level sizeLimit,
	// which waits in the main slot for the first client that becomes main.
	t.Cleanup(heksher.ResetMainForTesting)
	// tour:server
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "trust", "theme"))
	client, _ := heksher.NewClient(srv.URL, time.Second, []string{"user", "trust", "theme"})
	srv.EnqueueFault(hekshertest.Fault{Status: 503, Body: "<html>down</html>"}) // scripted faults
	// tour:end
	_ = client.Close()
	// The service has a rule for admins, so the tour's reads show a value
	// from the service, not the local default of 100.
	srv2 := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "trust", "theme"),
		hekshertest.WithSettings(hekshertest.Setting{Name: "size_limit", Type: "int", Default: 100,
			ConfigurableFeatures: []string{"user", "theme"}, Rules: []hekshertest.Rule{{Conditions: map[string]string{"user": "admin"}, Value: 1000}}}))
	srv2.EnqueueFault(hekshertest.Fault{Status: 503, Body: "<html>down</html>"})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out strings.Builder
	// The first request meets the scripted 503, and SetAsMain retries it.
	if err := run(ctx, srv2.URL, &out, slog.New(slog.DiscardHandler), heksher.NopHook{}); err != nil {
		t.Fatal(err)
	}
	if want := "size_limit for admin: 1000\nsize_limit for the same admin, features prepared: 1000\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

// TestReadmeShowsThisCode checks that every Go block of the README's tour is
// the code between a pair of "tour:" markers in this directory, so the README
// shows code that compiles.
func TestReadmeShowsThisCode(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	for _, name := range []string{"main.go", "main_test.go"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	snippets := map[string]string{} // marker name → code
	for _, part := range strings.Split(src.String(), "// tour:")[1:] {
		name, code, _ := strings.Cut(part, "\n")
		if name == "end" {
			continue
		}
		code, _, _ = strings.Cut(code, "// tour:end")
		snippets[name] = dedent(code)
	}
	for _, name := range []string{"settings", "client", "server"} {
		if snippets[name] == "" {
			t.Fatalf("no tour:%s snippet in main.go or main_test.go", name)
		}
	}
	blocks := goBlocks(string(readme))
	if len(blocks) == 0 {
		t.Fatal("the README has no Go block")
	}
	for _, block := range blocks {
		found := false
		for _, code := range snippets {
			if strings.Contains(code, block) {
				found = true
			}
		}
		if !found {
			t.Errorf("README Go block is not code from examples/tour:\n%s", block)
		}
	}
}

// goBlocks returns the contents of the ```go fences in md.
func goBlocks(md string) []string {
	var blocks []string
	for _, part := range strings.Split(md, "```go\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		blocks = append(blocks, strings.TrimSpace(block))
	}
	return blocks
}

// dedent removes the indentation common to code's non-empty lines.
func dedent(code string) string {
	lines := strings.Split(strings.Trim(code, "\n"), "\n")
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, "\t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range lines {
		if len(l) >= indent && indent > 0 {
			lines[i] = l[indent:]
		}
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// TestOpenFeature runs the tour's OpenFeature snippet: the go-sdk reads a
// setting through package heksherof.
func TestOpenFeature(t *testing.T) {
	t.Cleanup(heksher.ResetMainForTesting)
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"),
		hekshertest.WithSettings(hekshertest.Setting{Name: "cache_size", Type: "int", Default: 50,
			ConfigurableFeatures: []string{"user", "theme"}, Rules: []hekshertest.Rule{{Conditions: map[string]string{"user": "admin"}, Value: 500}}}))
	url, ctx := srv.URL, t.Context()
	// tour:openfeature
	p := heksherof.New(heksherof.WithTargetingFeature("user"))
	client, err := heksher.NewClient(url, 30*time.Second, []string{"user", "theme"}, heksher.WithHooks(p))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	_, _ = heksher.NewSetting("cache_size", heksher.Int(), []string{"user", "theme"}, 50, heksher.WithClient(client))
	_ = client.TrackContexts(map[string][]string{"user": {heksher.TrackAll}, "theme": {heksher.TrackAll}})
	if err := client.SetAsMain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := openfeature.SetProviderAndWait(p); err != nil {
		t.Fatal(err)
	}
	defer openfeature.Shutdown()
	of := openfeature.NewDefaultClient()
	size, err := of.IntValue(ctx, "cache_size", 50, openfeature.NewEvaluationContext("admin", map[string]any{"theme": "dark"}))
	// tour:end
	if err != nil || size != 500 {
		t.Fatalf("cache_size for admin: %d, %v; want 500", size, err)
	}
}
