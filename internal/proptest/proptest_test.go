package proptest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		name string
		ds   []time.Duration
		p    float64
		want time.Duration
	}{
		{"none", nil, 0.5, 0},
		{"one", ms(7), 0.99, 7 * time.Millisecond},
		{"median of 4", ms(4, 1, 3, 2), 0.5, 2 * time.Millisecond},
		{"p99 of 100", ms(func() []int {
			s := make([]int, 100)
			for i := range s {
				s[i] = 100 - i
			}
			return s
		}()...), 0.99, 99 * time.Millisecond},
		{"max", ms(5, 9, 1), 1, 9 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.ds, tc.p); got != tc.want {
				t.Fatalf("Percentile(%v, %v) = %v, want %v", tc.ds, tc.p, got, tc.want)
			}
		})
	}
}

func TestMeasure(t *testing.T) {
	p := NewProbe("x")
	p.OnSettingChanged(context.Background(), &event.SettingChanged{Setting: "x"}) // stale: drained
	lat, err := Measure(context.Background(), 3, func(_ context.Context, i int) error {
		p.OnSettingChanged(context.Background(), &event.SettingChanged{Setting: "other"})
		go p.OnSettingChanged(context.Background(), &event.SettingChanged{Setting: "x"})
		return nil
	}, p)
	if err != nil || len(lat) != 3 {
		t.Fatal(lat, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	lat, err = Measure(ctx, 2, func(context.Context, int) error { return nil }, p)
	if !errors.Is(err, context.DeadlineExceeded) || len(lat) != 0 {
		t.Fatal(lat, err)
	}
	boom := errors.New("boom")
	if _, err := Measure(context.Background(), 1, func(context.Context, int) error { return boom }, p); !errors.Is(err, boom) {
		t.Fatal(err)
	}
}
