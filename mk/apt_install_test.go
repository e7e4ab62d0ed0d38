// Package mk holds the build's shell helpers; its tests run mk/apt-install.sh
// against fake apt-get, dpkg and id commands.
package mk

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeTools writes fake dpkg (nothing is installed), id (uid) and apt-get
// commands into a directory. apt-get update fails as if another process held
// the package lists' lock for its first lockedUpdates calls; every call is
// appended to the returned log file.
func fakeTools(t *testing.T, uid string, lockedUpdates int) (dir, log string) {
	t.Helper()
	dir = t.TempDir()
	log = filepath.Join(dir, "calls.log")
	count := filepath.Join(dir, "updates")
	scripts := map[string]string{
		"dpkg": "#!/bin/sh\nexit 1\n",
		"id":   "#!/bin/sh\necho " + uid + "\n",
		"apt-get": `#!/bin/sh
echo "apt-get $*" >> "` + log + `"
case " $* " in
*" update "*)
	n=$(cat "` + count + `" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "` + count + `"
	if [ $n -le ` + strconv.Itoa(lockedUpdates) + ` ]; then
		echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
		echo "E: Unable to lock directory /var/lib/apt/lists/" >&2
		exit 100
	fi ;;
esac
exit 0
`,
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir, log
}

func runScript(t *testing.T, dir string, env []string, pkgs ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"apt-install.sh"}, pkgs...)...)
	cmd.Env = append([]string{"PATH=" + dir + ":/usr/bin:/bin"}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestAptInstallWaitsForTheLock holds the package lists' lock (as an
// unattended upgrade does) for the first update: the script waits and then
// installs, instead of failing at once; apt-get install itself is told to
// wait for the dpkg lock.
func TestAptInstallWaitsForTheLock(t *testing.T) {
	dir, log := fakeTools(t, "0", 1)
	out, err := runScript(t, dir, nil, "gcc", "chromium")
	if err != nil {
		t.Fatalf("apt-install.sh: %v\n%s", err, out)
	}
	calls, _ := os.ReadFile(log)
	want := "apt-get -o DPkg::Lock::Timeout=600 update -qq\n" +
		"apt-get -o DPkg::Lock::Timeout=600 update -qq\n" +
		"apt-get -o DPkg::Lock::Timeout=600 install -y -qq gcc chromium\n"
	if string(calls) != want {
		t.Errorf("apt-get calls:\n%s\nwant:\n%s", calls, want)
	}
}

// TestAptInstallGivesUpAfterTheTimeout: a lock that is never released ends
// the wait after APT_LOCK_TIMEOUT with apt-get's message and the script's.
func TestAptInstallGivesUpAfterTheTimeout(t *testing.T) {
	dir, _ := fakeTools(t, "0", 9)
	start := time.Now()
	out, err := runScript(t, dir, []string{"APT_LOCK_TIMEOUT=1"}, "wabt")
	if err == nil {
		t.Fatalf("apt-install.sh succeeded with the lock held:\n%s", out)
	}
	if !strings.Contains(out, "Could not get lock") || !strings.Contains(out, "the package lists stayed locked for 1s") {
		t.Errorf("output:\n%s", out)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("gave up after %v, want about the 1 s timeout", d)
	}
}

// TestAptInstallNotRoot: without root it installs nothing and says, in one
// line, what to install.
func TestAptInstallNotRoot(t *testing.T) {
	dir, log := fakeTools(t, "1000", 0)
	out, err := runScript(t, dir, nil, "gcc", "chromium")
	if err == nil {
		t.Fatal("apt-install.sh succeeded without root")
	}
	if want := "missing: gcc chromium; install them (Debian: sudo apt-get install gcc chromium) and run make again\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	if calls, _ := os.ReadFile(log); len(calls) != 0 {
		t.Errorf("apt-get ran without root:\n%s", calls)
	}
}
