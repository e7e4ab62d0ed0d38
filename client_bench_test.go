package heksher

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/internal/wire"
)

// benchAnswer builds a query answer of n int settings with r rules each.
func benchAnswer(n, r int) []byte {
	var q wire.QueryResponse
	for i := range n {
		s := wire.QuerySetting{Name: "setting_" + strconv.Itoa(i), DefaultValue: json.RawMessage("50")}
		for j := range r {
			s.Rules = append(s.Rules, wire.QueryRule{
				Value:           json.RawMessage(strconv.Itoa(i + j)),
				ContextFeatures: [][]string{{"user", "u" + strconv.Itoa(j)}, {"theme", "t" + strconv.Itoa(j%2)}},
				RuleID:          int64(i*r + j + 1),
			})
		}
		q.Settings = append(q.Settings, s)
	}
	b, err := q.MarshalJSON()
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkApply_10kSettings5Rules measures applying one query answer
// (decode, convert, collate, swap in, change detection) for 10,000 int
// settings with 5 rules each. In "changing" every iteration after the first
// changes one rule value in every setting, so that each apply really
// replaces rule sets and reports 10,000 changes; "changing_with_hooks" also
// builds the 10,000 SettingChanged events (old and new rule sets) that a
// client with hooks publishes; "unchanged" applies the same answer again.
func BenchmarkApply_10kSettings5Rules(b *testing.B) {
	const n, r = 10000, 5
	same := benchAnswer(n, r)
	var q wire.QueryResponse
	q, _ = wire.DecodeQuery(same)
	for i := range q.Settings {
		q.Settings[i].Rules[0].Value = json.RawMessage("-1")
	}
	other, _ := q.MarshalJSON()
	for _, bc := range []struct {
		name   string
		bodies [2][]byte
		hooks  bool
		want   int // changes reported after the first iteration
	}{
		{"changing", [2][]byte{same, other}, false, n},
		{"changing_with_hooks", [2][]byte{same, other}, true, n},
		{"unchanged", [2][]byte{same, same}, false, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ResetMainForTesting()
			defer ResetMainForTesting()
			for i := range n {
				if _, err := NewSetting("setting_"+strconv.Itoa(i), Int(), []string{"user", "theme"}, int64(0)); err != nil {
					b.Fatal(err)
				}
			}
			var opts []Option
			if bc.hooks {
				opts = append(opts, WithHooks(NopHook{}))
			}
			c, err := NewClient("http://heksher.invalid", 1, []string{"user", "theme"}, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if err := c.takeMain(); err != nil {
				b.Fatal(err)
			}
			for _, s := range c.queue {
				c.tracked[s.settingName()] = s
			}
			c.queue = nil
			b.SetBytes(int64(len(same)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				res, err := c.applyBody("bench", bc.bodies[i%2], "etag", false)
				if err != nil {
					b.Fatal(err)
				}
				if i > 0 && (len(res.changed) != bc.want || (bc.hooks && len(res.changes) != bc.want)) {
					b.Fatalf("changed = %d, events = %d, want %d", len(res.changed), len(res.changes), bc.want)
				}
				i++
			}
		})
	}
}

// BenchmarkSetAsMain_1000Settings measures SetAsMain with 1,000 pending
// settings against the in-process compatible server: 1,000 declarations in
// order, then the first query.
func BenchmarkSetAsMain_1000Settings(b *testing.B) {
	srv := hekshertest.NewServer(b, hekshertest.WithContextFeatures("user", "theme"))
	defer ResetMainForTesting()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		ResetMainForTesting()
		for i := range 1000 {
			if _, err := NewSetting("setting_"+strconv.Itoa(i), Int(), []string{"user", "theme"}, int64(i)); err != nil {
				b.Fatal(err)
			}
		}
		c, err := NewClient(srv.URL, 3600e9, []string{"user", "theme"})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := c.SetAsMain(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if len(c.Tracked()) != 1000 {
			b.Fatalf("tracked = %d", len(c.Tracked()))
		}
		_ = c.Close()
		b.StartTimer()
	}
}
