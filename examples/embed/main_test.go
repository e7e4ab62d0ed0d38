package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/hekshertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func Test_main(t *testing.T) {
	heksher.ResetMainForTesting()
	t.Cleanup(heksher.ResetMainForTesting)
	srv := hekshertest.NewServer(t, hekshertest.WithSeedFile("seed.yaml"))
	var out strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := run(ctx, srv.URL, &out, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	want := `admin: size_limit=1000 greeting="hi"
guest: size_limit=100 greeting="hi"
status: service, 2 settings tracked, last update not_modified
changed: greeting (0 rules)
changed: size_limit (1 rules)
`
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
