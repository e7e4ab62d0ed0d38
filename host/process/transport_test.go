package process

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
)

// TestMutualTLS connects to every socket in a running plugin's private
// directory as a stranger would, without TLS and with TLS but without the
// host's client certificate: the plugin must answer neither, while the host,
// holding the certificate, is served on the same sockets.
func TestMutualTLS(t *testing.T) {
	base := t.TempDir()
	cfg, _ := testPluginConfig(t, "mtls")
	cfg.SocketDir = base
	p := startPlugin(t, cfg, newMemSettings())
	socks, _ := filepath.Glob(filepath.Join(base, "heksher-plugin-*", "*", "*"))
	if len(socks) == 0 {
		t.Fatalf("no sockets under %s", base)
	}
	strangers := []struct {
		name  string
		creds credentials.TransportCredentials
	}{
		{name: "no TLS", creds: insecure.NewCredentials()},
		{name: "TLS without a client certificate", creds: credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})},
	}
	var reachable int
	for _, sock := range socks {
		c, err := net.Dial("unix", sock)
		if err != nil {
			continue // not a listening socket
		}
		_ = c.Close()
		reachable++
		for _, s := range strangers {
			t.Run(filepath.Base(sock)+"/"+s.name, func(t *testing.T) {
				conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(s.creds))
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = conn.Close() }()
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				_, err = grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: "plugin"})
				if err == nil {
					t.Fatalf("the plugin answered a stranger (%s) on %s", s.name, sock)
				}
			})
		}
	}
	if reachable == 0 {
		t.Fatalf("none of %v accepts connections", socks)
	}
	if err := ping(context.Background(), p, 1); err != nil {
		t.Fatalf("the host itself is not served: %v", err)
	}
}

// TestLookup_OneConnection checks that lookups reuse the connection the
// plugin opened to the host at Init: the plugin process holds as many
// sockets after many lookups as before the first.
func TestLookup_OneConnection(t *testing.T) {
	cfg, rec := testPluginConfig(t, "one-connection")
	p := startPlugin(t, cfg, newMemSettings("test.limit", "42"))
	pid := pidOf(t, p)
	before := socketFDs(t, pid)
	for seq := uint64(1); seq <= 20; seq++ {
		if err := command(context.Background(), p, seq, "cmd.lookup", map[string]any{"setting": "test.limit"}); err != nil {
			t.Fatal(err)
		}
	}
	if r := lastRecord(t, rec, "lookup"); string(r.Value) != "42" {
		t.Fatalf("lookup = %+v, want 42", r)
	}
	if after := socketFDs(t, pid); after != before {
		t.Errorf("plugin holds %d sockets after 20 lookups, %d before the first: lookups opened connections", after, before)
	}
}

// socketFDs counts the sockets among pid's open file descriptors.
func socketFDs(t *testing.T, pid int) int {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("cannot read %s: %v", dir, err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}
