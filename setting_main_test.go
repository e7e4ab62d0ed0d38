package heksher

import (
	"context"
	"log/slog"
	"regexp"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cvLogs records log records for assertions on the reference texts.
type cvLogs struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *cvLogs) Enabled(context.Context, slog.Level) bool { return true }
func (l *cvLogs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}
func (l *cvLogs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *cvLogs) WithGroup(string) slog.Handler      { return l }

// count returns how many records at level have a message matching pattern.
func (l *cvLogs) count(level slog.Level, pattern string) int {
	re := regexp.MustCompile(pattern)
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if r.Level == level && re.MatchString(r.Message) {
			n++
		}
	}
	return n
}

func (l *cvLogs) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recs)
}

func cvNewLogger() (*slog.Logger, *cvLogs) {
	h := &cvLogs{}
	return slog.New(h), h
}

// cvFreshMain resets the main slot for a test and again after it.
func cvFreshMain(t *testing.T) {
	t.Helper()
	ResetMainForTesting()
	t.Cleanup(ResetMainForTesting)
}

// cvMust returns a function that fails the test on err and returns v:
// cvMust(NewSetting(...))(t).
func cvMust[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// cvStubMain makes a fresh stub the main client for the test.
func cvStubMain(t *testing.T, opts ...Option) *StubClient {
	t.Helper()
	cvFreshMain(t)
	stub := NewStubClient(opts...)
	if err := stub.SetAsMain(context.Background()); err != nil {
		t.Fatal(err)
	}
	return stub
}
