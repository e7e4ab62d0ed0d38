package heksher

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestTrackContexts_Filters(t *testing.T) {
	tests := []struct {
		name    string
		calls   []map[string][]string
		want    string
		wantErr bool // of the last call
	}{
		{name: "nothing", want: ""},
		{name: "spec example", calls: []map[string][]string{{"b": {"B"}, "a": {"a1", "a0"}, "d": {TrackAll}}}, want: "a:(a0,a1),b:(B),d:*"},
		{name: "accumulate and dedup", calls: []map[string][]string{{"a": {"x"}}, {"a": {"y", "x"}}, {"a": {"x"}}}, want: "a:(x,y)"},
		{name: "star is track all", calls: []map[string][]string{{"z": {"*"}}}, want: "z:*"},
		{name: "B36 values after all", calls: []map[string][]string{{"a": {TrackAll}}, {"a": {"a"}}}, want: "a:*", wantErr: true},
		{name: "B37 all after values", calls: []map[string][]string{{"a": {"a"}}, {"a": {TrackAll}}}, want: "a:(a)", wantErr: true},
		{name: "all twice", calls: []map[string][]string{{"a": {TrackAll}}, {"a": {TrackAll}}}, want: "a:*", wantErr: true},
		{name: "empty list", calls: []map[string][]string{{"a": {}}}, want: "", wantErr: true},
		{name: "all mixed", calls: []map[string][]string{{"a": {"*", "x"}}}, want: "", wantErr: true},
		{name: "atomic on error", calls: []map[string][]string{{"a": {"x"}}, {"b": {"y"}, "c": {}}}, want: "a:(x)", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newTestClient(t, "http://h", []string{"a", "b", "c", "d"})
			var err error
			for _, call := range tc.calls {
				err = c.TrackContexts(call)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil && !errors.Is(err, ErrInvalidTracking) {
				t.Fatalf("err = %v, want ErrInvalidTracking", err)
			}
			if got := c.tracking.Load().filters(); got != tc.want {
				t.Fatalf("filters = %q, want %q", got, tc.want)
			}
		})
	}
}

// B35: tracking a feature the client does not know warns and still tracks.
func TestB35_RedundantTracking(t *testing.T) {
	c, lc := newTestClient(t, "http://h", []string{"a", "b", "c"})
	if err := c.TrackContexts(map[string][]string{"a": {"j"}, "d": {"t"}}); err != nil {
		t.Fatal(err)
	}
	w := lc.attrs(slog.LevelWarn, "^context features .+")
	if len(w) != 1 || w[0]["features"] != "[d]" || lc.countAtLeast(slog.LevelWarn) != 1 {
		t.Fatalf("want exactly one warning, naming d only:\n%s", lc.dump())
	}
	if got := c.tracking.Load().filters(); got != "a:(j),d:(t)" {
		t.Fatalf("filters = %q", got)
	}
}

// Get's explicit values: unknown features and untracked values warn, as in
// heksher-py; warnings never change the result.
func TestWarnExplicit(t *testing.T) {
	tests := []struct {
		name     string
		explicit map[string]string
		want     []string
	}{
		{"tracked", map[string]string{"a": "x", "b": "anything"}, nil},
		{"unknown feature", map[string]string{"zz": "1"}, []string{"context features are not specified in server"}},
		{"untracked value", map[string]string{"a": "nope"}, []string{"context feature value is not tracked by client"}},
		{"untracked feature", map[string]string{"c": "1"}, []string{"context feature value is not tracked by client"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, lc := newTestClient(t, "http://h", []string{"a", "b", "c"})
			if err := c.TrackContexts(map[string][]string{"a": {"x"}, "b": {TrackAll}}); err != nil {
				t.Fatal(err)
			}
			c.warnExplicit(ctxT(t), tc.explicit)
			for _, w := range tc.want {
				if lc.count(slog.LevelWarn, "^"+regexp.QuoteMeta(w)+"$") != 1 {
					t.Fatalf("want %q:\n%s", w, lc.dump())
				}
			}
			if tc.want == nil && lc.count(slog.LevelWarn, ".") != 0 {
				t.Fatalf("unexpected:\n%s", lc.dump())
			}
		})
	}
	c, _ := newTestClient(t, "http://h", []string{"a"})
	_ = c.TrackContexts(map[string][]string{"a": {"x"}})
	explicit := map[string]string{"a": "x"}
	ctx := ctxT(t)
	if n := testing.AllocsPerRun(100, func() { c.warnExplicit(ctx, explicit) }); n != 0 {
		t.Fatalf("warnExplicit allocates %v times with nothing to warn", n)
	}
}

// FuzzFilters checks the context_filters builder: whatever is tracked, the
// string parses back to exactly the tracked configuration, features and
// values sorted, no spaces.
func FuzzFilters(f *testing.F) {
	f.Add("b", "B", "a", "a1,a0", "d")
	f.Add("x", "", "y", "1,1,2", "x")
	f.Fuzz(func(t *testing.T, f1, v1, f2, v2s, allF string) {
		c, err := NewClient("http://h", 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		want := map[string][]string{}
		add := func(feat string, vals []string) {
			if c.TrackContexts(map[string][]string{feat: vals}) == nil {
				if slices.Contains(vals, TrackAll) {
					want[feat] = []string{TrackAll}
					return
				}
				want[feat] = append(want[feat], vals...)
			}
		}
		add(f1, []string{v1})
		add(f2, strings.Split(v2s, ","))
		add(allF, []string{TrackAll})
		got := c.tracking.Load().filters()
		// Parse it back (valid only for names free of the separators,
		// which the server requires anyway).
		clean := func(s string) bool { return !strings.ContainsAny(s, ",:()*") }
		for k, vs := range want {
			if !clean(k) {
				return
			}
			for _, v := range vs {
				if v != TrackAll && !clean(v) {
					return
				}
			}
		}
		if len(want) == 0 {
			if got != "" {
				t.Fatalf("filters = %q for nothing tracked", got)
			}
			return
		}
		parsed := map[string][]string{}
		var order []string
		rest := got
		for rest != "" {
			name, after, ok := strings.Cut(rest, ":")
			if !ok {
				t.Fatalf("no ':' in %q", got)
			}
			order = append(order, name)
			if strings.HasPrefix(after, "*") {
				parsed[name] = []string{TrackAll}
				rest = strings.TrimPrefix(strings.TrimPrefix(after, "*"), ",")
				continue
			}
			if !strings.HasPrefix(after, "(") {
				t.Fatalf("want '(' in %q", got)
			}
			end := strings.IndexByte(after, ')')
			vals := strings.Split(after[1:end], ",")
			if !slices.IsSorted(vals) {
				t.Fatalf("values not sorted in %q", got)
			}
			parsed[name] = vals
			rest = strings.TrimPrefix(after[end+1:], ",")
		}
		if !slices.IsSorted(order) {
			t.Fatalf("features not sorted in %q", got)
		}
		for k, vs := range want {
			w := slices.Compact(slices.Sorted(slices.Values(vs)))
			if !slices.Equal(parsed[k], w) {
				t.Fatalf("feature %q: parsed %v, want %v (filters %q)", k, parsed[k], w, got)
			}
		}
		if len(parsed) != len(want) {
			t.Fatalf("parsed %v, want %v", parsed, want)
		}
	})
}

func TestTrackContexts_FilterSyntaxWarnings(t *testing.T) {
	tests := []struct {
		name  string
		track map[string][]string
		want  string
	}{
		{"valid", map[string][]string{"user": {"u_1"}}, ""},
		{"bad value", map[string][]string{"user": {"a-b"}}, "value is not valid"},
		{"bad name", map[string][]string{"us er": {"x"}}, "name is not valid"},
		{"upper-case name", map[string][]string{"userId": {"x"}}, "lower-case letters only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, lc := newTestClient(t, "http://h", []string{"user", "us er", "userId"})
			mustNil(t, c.TrackContexts(tc.track))
			if tc.want == "" && lc.count(slog.LevelWarn, ".") != 0 || tc.want != "" && lc.count(slog.LevelWarn, tc.want) != 1 {
				t.Fatalf("want %q:\n%s", tc.want, lc.dump())
			}
		})
	}
}

func BenchmarkWarnExplicit(b *testing.B) {
	c, err := NewClient("http://h", 1, []string{"user", "theme"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	_ = c.TrackContexts(map[string][]string{"user": {"admin", "bob"}, "theme": {TrackAll}})
	explicit := map[string]string{"user": "admin", "theme": "dark"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c.warnExplicit(ctx, explicit)
	}
}
