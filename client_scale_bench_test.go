package heksher

import (
	"context"
	"encoding/json"
	"log/slog"
	"runtime"
	"strconv"
	"testing"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/internal/wire"
)

// scaleClient is a main client tracking n int settings (declarations
// skipped), for the apply benchmarks.
func scaleClient(b *testing.B, n int, url string) *Client {
	b.Helper()
	ResetMainForTesting()
	for i := range n {
		if _, err := NewSetting("setting_"+strconv.Itoa(i), Int(), []string{"user", "theme"}, int64(0)); err != nil {
			b.Fatal(err)
		}
	}
	c, err := NewClient(url, 1, []string{"user", "theme"}, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	if err := c.takeMain(); err != nil {
		b.Fatal(err)
	}
	for _, s := range c.queue {
		c.tracked[s.settingName()] = s
	}
	c.queue = nil
	return c
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkApplyScale measures applying a query answer of n int settings
// × 5 rules: "first" into settings that hold nothing yet (a fresh
// client's first update; MiB/1k is the heap the client holds afterwards,
// per 1,000 settings, settings included), "warm" an answer that changes
// one rule of every setting, into settings that hold the previous one.
func BenchmarkApplyScale(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		same := benchAnswer(n, 5)
		q, _ := wire.DecodeQuery(same)
		for i := range q.Settings {
			q.Settings[i].Rules[0].Value = json.RawMessage("-1")
		}
		other, _ := q.MarshalJSON()
		b.Run(strconv.Itoa(n)+"/first", func(b *testing.B) {
			defer ResetMainForTesting()
			var held float64
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				ResetMainForTesting()
				before := heapInUse()
				c := scaleClient(b, n, "http://heksher.invalid")
				b.StartTimer()
				if _, err := c.applyBody("bench", same, "etag", false); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				held = float64(heapInUse()-before) / float64(n/1000) / (1 << 20)
				_ = c.Close()
				b.StartTimer()
			}
			b.ReportMetric(held, "MiB/1k")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/setting")
		})
		b.Run(strconv.Itoa(n)+"/warm", func(b *testing.B) {
			defer ResetMainForTesting()
			c := scaleClient(b, n, "http://heksher.invalid")
			defer c.Close()
			if _, err := c.applyBody("bench", same, "etag", false); err != nil {
				b.Fatal(err)
			}
			bodies := [2][]byte{other, same}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := c.applyBody("bench", bodies[i%2], "etag", false); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/setting")
		})
	}
}

// BenchmarkPollScale measures a client's poll when nothing changed (every
// query answers 304) against the compatible server over loopback HTTP, at
// 10,000 and 100,000 tracked settings (the latter split into queries by
// the default URL limit). ns/setting is the cost per tracked setting.
func BenchmarkPollScale(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			settings := make([]hekshertest.Setting, n)
			for i := range settings {
				settings[i] = hekshertest.Setting{Name: "setting_" + strconv.Itoa(i), Type: "int", Default: 0,
					ConfigurableFeatures: []string{"user", "theme"}}
			}
			srv := hekshertest.NewServer(b, hekshertest.WithContextFeatures("user", "theme"), hekshertest.WithSettings(settings...))
			defer ResetMainForTesting()
			c := scaleClient(b, n, srv.URL)
			if err := c.TrackContexts(map[string][]string{"user": {TrackAll}}); err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			if err := c.attempt(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := c.attempt(ctx); err != nil {
					b.Fatal(err)
				}
			}
			if c.Status().LastResult != ResultNotModified {
				b.Fatal("the poll was not answered 304")
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/setting")
		})
	}
}
