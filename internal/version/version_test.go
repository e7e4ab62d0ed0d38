package version

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name   string
		linked string
		bi     *debug.BuildInfo
		ok     bool
		want   string
	}{
		{name: "link time wins", linked: "v9.9.9", bi: &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, ok: true, want: "v9.9.9"},
		{name: "module version", bi: &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, ok: true, want: "v1.2.3"},
		{name: "pseudo-version", bi: &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261205224247-ef1599c18f6b+dirty"}, Settings: vcs(rev, "true")}, ok: true, want: "v0.0.0-20261205224247-ef1599c18f6b+dirty"},
		{name: "devel with revision", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")}, ok: true, want: "devel-0123456789ab"},
		{name: "devel with modified revision", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true")}, ok: true, want: "devel-0123456789ab-dirty"},
		{name: "short revision", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("abc", "false")}, ok: true, want: "devel-abc"},
		{name: "devel without vcs", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, ok: true, want: "devel"},
		{name: "no build info", ok: false, want: "devel"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := resolve(tc.linked, tc.bi, tc.ok); got != tc.want {
				t.Errorf("resolve = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLine(t *testing.T) {
	got := Line("heksher-host")
	want := "heksher-host " + String() + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	if got != want {
		t.Errorf("Line = %q, want %q", got, want)
	}
}

// TestLinkTime builds a program with the documented -ldflags -X override and
// without it, proving that the variable's name in the docs and the Makefile
// is the one the linker sets (-X ignores a name that does not exist).
func TestLinkTime(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	dir := t.TempDir()
	build := func(name string, args ...string) string {
		t.Helper()
		bin := filepath.Join(dir, name)
		cmd := exec.Command("go", append(append([]string{"build", "-o", bin}, args...), "./testdata/printversion")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		out, err := exec.Command(bin).Output()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return strings.TrimSpace(string(out))
	}
	if got := build("linked", "-ldflags", "-X github.com/heksher-go/heksher/internal/version.Version=v1.2.3"); got != "v1.2.3" {
		t.Errorf("with -X: version = %q, want v1.2.3", got)
	}
	if got := build("plain"); got == "" || got == "v1.2.3" {
		t.Errorf("without -X: version = %q, want the build information's", got)
	}
}
