package heksher

import (
	"log/slog"
	"testing"
)

// B45-B51: Flags settings end to end over HTTP, with the server's answers
// scripted (the reference's "fake" variants).
func TestB45_B51_FlagsEndToEnd(t *testing.T) {
	all := func(a string) map[string]string { return map[string]string{"a": a, "b": "", "c": ""} }
	tests := []struct {
		id        string
		def       string
		rules     [][2]string
		validator bool
		wantWarn  string
		warnCount int                // exact number of wantWarn records when the item names a single event; 0 = at least one
		alsoWarn  string             // a second warning the item names (B46: the coercion is the default's)
		gets      map[string]FlagSet // a= value → result
	}{
		{id: "B45", def: `[]`, rules: [][2]string{{`["green","blue"]`, ""}},
			gets: map[string]FlagSet{"": NewFlagSet("green", "blue")}},
		{id: "B46", def: `["white"]`, rules: [][2]string{{`["green","blue","white"]`, ""}}, wantWarn: ".+ coerced .+", alsoWarn: ".+ default value coerced .+",
			gets: map[string]FlagSet{"": NewFlagSet("green", "blue")}},
		{id: "B47", def: `["white","blue"]`, rules: [][2]string{{`["green"]`, "a=f"}}, wantWarn: ".+ default value coerced .+",
			gets: map[string]FlagSet{"re": NewFlagSet("blue"), "f": NewFlagSet("green")}},
		{id: "B48", def: `[]`, rules: [][2]string{{`["green","blue"]`, "a=x"}, {`["green","blue",["abc"]]`, "a=y"}}, wantWarn: ".+ rejected .+", warnCount: 1,
			gets: map[string]FlagSet{"x": NewFlagSet("green", "blue"), "y": NewFlagSet()}},
		{id: "B49", def: `["blank"]`, wantWarn: ".+ default value coerced .+",
			gets: map[string]FlagSet{"re": NewFlagSet()}},
		{id: "B50", def: `[]`, rules: [][2]string{{`["red"]`, "a=x,z=foo"}, {`["green","blue"]`, "a=x"}}, wantWarn: ".+ rejected .+", warnCount: 1,
			gets: map[string]FlagSet{"x": NewFlagSet("green", "blue")}},
		{id: "B51", def: `[]`, rules: [][2]string{{`["green","blue"]`, "a=x"}}, validator: true,
			gets: map[string]FlagSet{"x": NewFlagSet("green", "blue", "red"), "y": NewFlagSet("red")}},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			freshMain(t)
			f := newFakeServer(t, "a", "b", "c", "z")
			f.setData("color", tc.def, tc.rules...)
			s := mustSetting(t, "color", Flags("blue", "red", "green"), []string{"a", "b", "c"}, NewFlagSet())
			if tc.validator {
				s.AddValidator(func(v FlagSet, _ *QueriedRule, _ *Setting[FlagSet]) (FlagSet, error) { return v.With("red"), nil })
			}
			c, lc := newTestClient(t, f.URL(), []string{"a", "b", "c", "z"})
			mustNil(t, c.SetAsMain(ctxT(t)))
			if tc.wantWarn != "" && !lc.has(slog.LevelWarn, tc.wantWarn) {
				t.Fatalf("no warning %q:\n%s", tc.wantWarn, lc.dump())
			}
			if tc.alsoWarn != "" && !lc.has(slog.LevelWarn, tc.alsoWarn) {
				t.Errorf("no warning %q:\n%s", tc.alsoWarn, lc.dump())
			}
			if n := lc.count(slog.LevelWarn, tc.wantWarn); tc.warnCount > 0 && n != tc.warnCount {
				t.Errorf("%d warnings %q, want %d:\n%s", n, tc.wantWarn, tc.warnCount, lc.dump())
			}
			if tc.wantWarn == "" && lc.count(slog.LevelWarn, "") != 0 {
				t.Errorf("%s: a clean answer logged a warning:\n%s", tc.id, lc.dump())
			}
			// The scripted service agrees on type and features, so no
			// declaration conflict may be reported (only the real-server
			// variants of B47, B49 and B50 expect ERROR "^conflict .+").
			if n := lc.count(slog.LevelError, ""); n != 0 {
				t.Errorf("%s: %d ERROR records:\n%s", tc.id, n, lc.dump())
			}
			for a, want := range tc.gets {
				if got := mustGet(t, s, all(a)); !got.Equal(want) {
					t.Fatalf("Get(a=%q) = %v, want %v", a, got, want)
				}
			}
		})
	}
}
