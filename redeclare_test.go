package heksher

import (
	"log/slog"
	"strings"
	"testing"
)

// A read before any client is main is reported on slog.Default, once per
// setting however many reads follow.
func TestSetting_ReadBeforeAnyClient_LogsToDefaultOnce(t *testing.T) {
	lc := withDefaultLogger(t)
	freshMain(t)
	s := mustSetting(t, "early", Int(), []string{"a"}, 7)
	for range 100 {
		if v := mustGet(t, s, nil); v != 7 {
			t.Fatalf("Get = %d, want the local default", v)
		}
	}
	got := lc.attrs(slog.LevelInfo, "^the value of setting was never retrieved from service$")
	if len(got) != 1 || got[0]["setting"] != "early" || got[0]["reason"] != "no client is main yet" {
		t.Fatalf("reads before any client logged %v, want one INFO about early:\n%s", got, lc.dump())
	}
}

// Two settings of one name that differ are reported (before any client on
// slog.Default, with a client on its logger), naming every difference; two
// identical ones are legal and silent.
func TestSetting_SameNameDiffers_Reported(t *testing.T) {
	lc := withDefaultLogger(t)
	freshMain(t)
	mustSetting(t, "twin", Int(), []string{"a"}, 1)
	mustSetting(t, "twin", Int(), []string{"a"}, 1)
	if n := lc.countAtLeast(slog.LevelWarn); n != 0 {
		t.Fatalf("identical settings of one name reported:\n%s", lc.dump())
	}
	mustSetting(t, "twin", Str(), []string{"a", "b"}, "1", WithVersion("1.1"))
	got := lc.attrs(slog.LevelWarn, "^heksher: two settings of one name differ; the later replaces the earlier$")
	if len(got) != 1 || got[0]["setting"] != "twin" {
		t.Fatalf("differing settings reported %v:\n%s", got, lc.dump())
	}
	for _, want := range []string{`type: int → str`, `features: ["a"] → ["a","b"]`, `default: 1 → "1"`, `version: 1.0 → 1.1`} {
		if !strings.Contains(got[0]["differences"], want) {
			t.Fatalf("differences %q lack %q", got[0]["differences"], want)
		}
	}

	// With a client: its logger, whether the earlier one is queued or
	// already tracked.
	c, clc := newTestClient(t, "http://heksher.invalid", []string{"a"})
	mustSetting(t, "bound", Int(), []string{"a"}, 1, WithClient(c))
	mustSetting(t, "bound", Int(), []string{"a"}, 1, WithClient(c))
	mustSetting(t, "bound", Int(), []string{"a"}, 2, WithClient(c))
	if got := clc.attrs(slog.LevelWarn, "^heksher: two settings of one name differ"); len(got) != 1 || got[0]["differences"] != "[default: 1 → 2]" {
		t.Fatalf("client-bound twins reported %v:\n%s", got, clc.dump())
	}
}
