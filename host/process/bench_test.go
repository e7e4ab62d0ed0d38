package process

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

// BenchmarkLookup times plugin→host lookups from inside the plugin process:
// each iteration asks the test plugin for 100 lookups through the host's
// brokered connection (unix socket, mutual TLS) and, interleaved in batches
// of 10, 100 unary calls of the same Settings service, served by the same
// code, on a bare gRPC connection over a unix socket without TLS. The
// plugin reports the time per call of each; ratio is broker/bare.
func BenchmarkLookup(b *testing.B) {
	cfg, rec := testPluginConfig(b, "bench-lookup")
	cfg.Logger = nil
	p := startPlugin(b, cfg, newMemSettings("test.limit", "42"))

	sock := filepath.Join(b.TempDir(), "bare.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	pluginv1.RegisterSettingsServer(srv, &settingsServer{p: p})
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	defer func() {
		srv.Stop()
		<-served
	}()

	arg := map[string]any{"n": 100, "bare": sock, "setting": "test.limit"}
	var seq uint64
	b.ReportAllocs()
	for b.Loop() {
		seq++
		if err := command(context.Background(), p, seq, "cmd.bench", arg); err != nil {
			b.Fatal(err)
		}
	}
	var broker, bare float64
	var n int
	for _, r := range readRecords(b, rec) {
		if r.What == "bench" {
			broker += r.BrokerNS
			bare += r.BareNS
			n++
		}
	}
	if n == 0 {
		b.Fatal("the plugin recorded no bench results")
	}
	b.ReportMetric(broker/float64(n), "lookup-ns")
	b.ReportMetric(bare/float64(n), "bare-grpc-ns")
	b.ReportMetric(broker/bare, "ratio")
}

// BenchmarkStart times Start (exec, go-plugin handshake with AutoMTLS
// certificates generated on both sides, broker, Init) until the plugin is
// ready for events. Close is not timed.
func BenchmarkStart(b *testing.B) {
	cfg, _ := testPluginConfig(b, "bench-start")
	cfg.Logger = nil
	s := newMemSettings()
	b.ReportAllocs()
	for b.Loop() {
		p, err := Start(context.Background(), cfg, s)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := p.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkStartIsolation times Start as BenchmarkStart does, per way of
// isolating the plugin's process tree, and with a checksum (the binary is
// then copied into a sealed memfd while it is hashed, and run from it).
func BenchmarkStartIsolation(b *testing.B) {
	for _, tc := range []struct {
		name string
		mode isolation
		sum  bool
	}{
		{name: "pid-namespace", mode: isolatePIDNS},
		{name: "user-and-pid-namespace", mode: isolateUserPIDNS},
		{name: "process-group", mode: isolateGroup},
		{name: "pid-namespace+sha256", mode: isolatePIDNS, sum: true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg, _ := testPluginConfig(b, "bench-start")
			cfg.Logger = nil
			cfg.isolation = tc.mode
			if tc.sum {
				sum, err := fileSHA256(cfg.Path)
				if err != nil {
					b.Fatal(err)
				}
				cfg.SHA256 = sum
			}
			s := newMemSettings()
			for b.Loop() {
				p, err := Start(context.Background(), cfg, s)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := p.Close(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// fileSHA256 returns the hex SHA-256 of the file at path.
func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// BenchmarkCrashRestart times a crash in the middle of a delivery until the
// next delivery is handled by a fresh, initialised process, with a 1 ms
// backoff; detect-ns is the part until the crashing call returned.
func BenchmarkCrashRestart(b *testing.B) {
	cfg, _ := testPluginConfig(b, "bench-crash")
	cfg.Logger = nil
	cfg.Backoff = Backoff{Initial: time.Millisecond, Max: time.Millisecond}
	p := startPlugin(b, cfg, newMemSettings())
	var seq uint64
	var detect time.Duration
	b.ReportAllocs()
	for b.Loop() {
		seq++
		t0 := time.Now()
		if err := command(context.Background(), p, seq, "cmd.exit", nil); !errors.Is(err, ErrCrashed) {
			b.Fatalf("err = %v, want ErrCrashed", err)
		}
		detect += time.Since(t0)
		seq++
		if err := ping(context.Background(), p, seq); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(detect.Nanoseconds())/float64(b.N), "detect-ns")
}

// BenchmarkDeliver times one host→plugin delivery (a Closing event the test
// plugin records to a file) over the mutual-TLS connection.
func BenchmarkDeliver(b *testing.B) {
	cfg, _ := testPluginConfig(b, "bench-deliver")
	cfg.Logger = nil
	cfg.Config = []byte(`{}`) // no record file: measure the call, not the write
	p := startPlugin(b, cfg, newMemSettings())
	var seq uint64
	b.ReportAllocs()
	for b.Loop() {
		seq++
		if err := ping(context.Background(), p, seq); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecBaseline calibrates BenchmarkStart in the same run: starting
// the same plugin binary by hand, which initialises the Go runtime and every
// package, prints that it is a plugin and exits.
func BenchmarkExecBaseline(b *testing.B) {
	path := bin(b, "testplugin")
	for b.Loop() {
		err := exec.Command(path).Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			b.Fatalf("run by hand: %v, want exit status 1", err)
		}
	}
}

// BenchmarkFirstLookup times, right after Start, the first delivery that
// makes the plugin look a setting up (first-ns) and the same delivery again
// (next-ns). The difference is what the first lookup still pays for opening
// the brokered connection (dial and mutual-TLS handshake); the SDK opens it
// during Init so that it is near zero. Start and Close are not timed.
func BenchmarkFirstLookup(b *testing.B) {
	cfg, _ := testPluginConfig(b, "bench-first-lookup")
	cfg.Logger = nil
	cfg.Config = []byte(`{}`) // no record file: measure the calls, not the writes
	s := newMemSettings("test.limit", "42")
	arg := map[string]any{"setting": "test.limit"}
	var first, next time.Duration
	for b.Loop() {
		b.StopTimer()
		p, err := Start(context.Background(), cfg, s)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		if err := command(context.Background(), p, 1, "cmd.lookup", arg); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := command(context.Background(), p, 2, "cmd.lookup", arg); err != nil {
			b.Fatal(err)
		}
		first += t1.Sub(t0)
		next += time.Since(t1)
		b.StopTimer()
		if err := p.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(first.Nanoseconds())/float64(b.N), "first-ns")
	b.ReportMetric(float64(next.Nanoseconds())/float64(b.N), "next-ns")
}
