package heksher

import (
	"context"
	"log/slog"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cvLogs is the package's log-capturing handler (logCapture), under the name
// the settings tests use.
type cvLogs = logCapture

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
