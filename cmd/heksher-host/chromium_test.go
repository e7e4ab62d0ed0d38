package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/host/admin"
)

// chromiumLimit bounds one run of chromium: it starts in about a second on
// an idle machine, and in over ten on a loaded CI machine.
const chromiumLimit = 2 * time.Minute

// findChromium returns Debian's chromium (installed by `make ci-deps`).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: run `make ci-deps` (CI_APT_PACKAGES in mk/host.mk)")
	return ""
}

// dumpDOM loads url in headless chromium with a fresh profile and returns
// the DOM as rendered.
func dumpDOM(t *testing.T, chromium, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), chromiumLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--dump-dom", url)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("chromium: %v: %s", err, ee.Stderr)
		}
		t.Fatalf("chromium: %v", err)
	}
	return string(out)
}

// runBinary runs the host binary to completion and returns its output.
func runBinary(bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	return string(out), err
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// screenshot saves a PNG of url (which must not refresh itself) as rendered by headless chromium, in a
// window w pixels wide and h high, and returns its path: under the test's
// artifact directory with `go test -artifacts`, else in testdata/artifacts
// (ignored by git), where it stays for people to look at.
func screenshot(t *testing.T, chromium, url, name string, w, h int) string {
	t.Helper()
	dir := filepath.Join(repo, "cmd/heksher-host/testdata/artifacts")
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		dir = t.ArtifactDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	ctx, cancel := context.WithTimeout(context.Background(), chromiumLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir="+t.TempDir(), fmt.Sprintf("--window-size=%d,%d", w, h), "--screenshot="+path, url)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium screenshot: %v: %s", err, out)
	}
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Fatalf("no screenshot at %s: %v", path, err)
	}
	t.Logf("screenshot of %s: %s", url, path)
	return path
}

// chartAttr returns the integer data attribute attr of the chart named id
// in dom, or -1 when there is no such chart.
func chartAttr(dom, id, attr string) int {
	re := regexp.MustCompile(`<svg class="chart"[^>]*\sdata-chart="` + regexp.QuoteMeta(id) + `"[^>]*>`)
	tag := re.FindString(dom)
	m := regexp.MustCompile(`\s` + attr + `="(\d+)"`).FindStringSubmatch(tag)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// chartBuckets counts the buckets drawn in the chart named id.
func chartBuckets(dom, id string) int {
	i := strings.Index(dom, `data-chart="`+id+`"`)
	if i < 0 {
		return 0
	}
	end := strings.Index(dom[i:], "</svg>")
	if end < 0 {
		return 0
	}
	return strings.Count(dom[i:i+end], `<g class="bucket"`)
}

// The page tells the truth during a real outage (the service stopped): the
// banner leaves "fresh" for "stale" with the failures counted and their
// last error; a process plugin whose handler fails (a webhook that answers
// 503) shows its errors' count and text; the value of a per-user setting
// is shown for the user picked in the form; the 304 polls before the
// outage and the repeated errors during it are collapsed; and the charts
// of the last hour carry the updates, the failures and the deliveries in
// their data attributes. A screenshot is kept.
func TestE2E_StatusPageDuringAnOutage(t *testing.T) {
	chromium := findChromium(t)
	// Without the watch, as the real service: the page shows the 304 polls.
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"), hekshertest.WithoutWatch())
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "webhook receiver down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(hook.Close)
	cfg := fmt.Sprintf(`
service: {url: %s, timeout: 1s}
update_interval: 300ms
startup_timeout: 2s
context_features: [user, theme]
context_defaults: {theme: light}
tracked_contexts: {user: ["*"], theme: ["*"]}
plugins:
  - {name: banner, kind: process, path: %s}
  - {name: alerter, kind: process, path: %s, config: {url: %q, failures: 2}}
  - {name: discount, kind: wasm, path: %s}
admin: {listen: "{{admin}}"}
state_dir: state
`, srv.URL, built(t, "examples/demo/banner/bin/banner"), built(t, "plugins/webhook-alerter/bin/webhook-alerter"),
		hook.URL, built(t, "examples/demo/discount/plugin.wasm"))
	h := startHost(t, t.TempDir(), cfg)
	h.waitFor("the plugins' declarations on the service", 30*time.Second, func() bool {
		return slices.Contains(serverSettings(t, srv.URL), "banner")
	})
	if _, err := srv.AddRule("banner", map[string]string{"user": "alice"}, "winter sale"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the rule, then 304 polls collapsed", 15*time.Second, func() bool {
		if string(h.lookup("banner?user=alice").Value) != `"winter sale"` {
			return false
		}
		st := h.status()
		return len(st.Events) > 0 && st.Events[0].Kind == "update_ok" && st.Events[0].Count >= 3 &&
			st.Service.State == admin.StateFresh
	})
	fresh := getBody(t, h.admin+"/")
	for _, want := range []string{`id="banner" class="banner fresh" data-state="fresh"`, "Serving fresh values from the service",
		`id="serving" class="ok">service`, "not modified (304)", "×"} {
		if !strings.Contains(fresh, want) {
			t.Errorf("the page before the outage lacks %q", want)
		}
	}
	// Without a user the per-user value is not blank: it says what it
	// depends on.
	if cell := valueCell(fresh, "banner"); !strings.Contains(cell, "depends on user") {
		t.Errorf("banner's value without a user: %q", cell)
	}

	srv.Stop()
	h.waitFor("stale, the failures counted, the alerter's errors with their text", 30*time.Second, func() bool {
		st := h.status()
		if st.Service.State != admin.StateStale || st.Service.ConsecutiveFailures < 5 || st.Update.Errors < 5 {
			return false
		}
		for _, p := range st.Plugins {
			if p.Name == "alerter" {
				return p.Errors >= 2 && strings.Contains(p.LastError, "503")
			}
		}
		return false
	})
	url := h.admin + "/?user=alice"
	dom := dumpDOM(t, chromium, url)
	for _, want := range []string{
		`id="banner" class="banner stale" data-state="stale"`, "Serving stale values since", "updates in a row failed",
		`id="banner-error"`, `id="serving" class="warn">service`, `<input name="user" value="alice">`, "Current values are for",
		"user=alice", `class="count">×`, "update_error", "Last error",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page during the outage lacks %q", want)
		}
	}
	if cell := valueCell(dom, "banner"); !strings.Contains(cell, `"winter sale"`) {
		t.Errorf("banner's value for user=alice: %q, want the rule's", cell)
	}
	if row := rowOf(dom, "plugin-alerter"); !strings.Contains(row, "503") {
		t.Errorf("alerter's row lacks its last error's text: %q", row)
	}
	if n := chartAttr(dom, "update-failures", "data-errors"); n < 5 {
		t.Errorf("update failures chart counts %d failed updates, want at least 5", n)
	}
	if n := chartAttr(dom, "update-latency", "data-count"); n < 8 {
		t.Errorf("update latency chart counts %d updates, want at least 8", n)
	}
	if n := chartBuckets(dom, "update-latency"); n < 1 {
		t.Errorf("update latency chart draws %d buckets", n)
	}
	if n := chartAttr(dom, "delivery-errors-alerter", "data-errors"); n < 2 {
		t.Errorf("alerter's delivery chart counts %d failed deliveries, want at least 2", n)
	}
	if n := chartAttr(dom, "delivery-latency-banner", "data-count"); n < 1 {
		t.Errorf("banner's delivery chart counts %d deliveries", n)
	}
	if n := chartAttr(dom, "delivery-errors-discount", "data-errors"); n != 0 {
		t.Errorf("discount's delivery chart counts %d failed deliveries, want 0", n)
	}
	// The footer names the binary's version, as -version prints it.
	out, err := runBinary(built(t, "cmd/heksher-host/bin/heksher-host"), "-version")
	if f := strings.Fields(out); err != nil || len(f) < 2 || !strings.Contains(dom, `id="version">heksher-host `+f[1]+"<") {
		t.Errorf("the footer lacks the version that -version prints (%q, %v)", out, err)
	}
	// Headless chromium never finishes a screenshot of a page that
	// reloads itself: take it paused.
	screenshot(t, chromium, url+"&auto-refresh=off", "status-outage.png", 1400, 2800)
}

// getBody returns the body of a GET of url.
func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// valueCell returns the "Current value" cell of setting's row in dom.
func valueCell(dom, setting string) string {
	m := regexp.MustCompile(`(?s)id="setting-` + regexp.QuoteMeta(setting) + `">.*?<td class="value">(.*?)</td>`).FindStringSubmatch(dom)
	if m == nil {
		return ""
	}
	return m[1]
}

// rowOf returns the table row with the given id in dom.
func rowOf(dom, id string) string {
	m := regexp.MustCompile(`(?s)<tr[^>]*id="` + regexp.QuoteMeta(id) + `">.*?</tr>`).FindString(dom)
	return m
}
