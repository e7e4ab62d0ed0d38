package process

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
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
	cfg, rec := testPluginConfig(t, "mtls")
	cfg.SocketDir = base
	p := startPlugin(t, cfg, newMemSettings())
	// go-plugin's AutoMTLS hands the plugin the host's client certificate,
	// the only one it then accepts.
	if env := lastRecord(t, rec, "init").Env; !slices.ContainsFunc(env, func(kv string) bool {
		return strings.HasPrefix(kv, "PLUGIN_CLIENT_CERT=-----BEGIN CERTIFICATE-----")
	}) {
		t.Errorf("the plugin was not given the host's client certificate: env %q", env)
	}
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
		{name: "TLS with another client certificate", creds: credentials.NewTLS(&tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{strangerCert(t)}})},
	}
	var reachable int
	for _, sock := range socks {
		c, err := net.Dial("unix", sock)
		if err != nil {
			continue // not a listening socket
		}
		_ = c.Close()
		reachable++
		t.Run(filepath.Base(sock)+"/speaks TLS and demands a client certificate", func(t *testing.T) {
			c, err := tls.Dial("unix", sock, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
			if err != nil {
				t.Fatalf("TLS handshake: %v", err)
			}
			defer func() { _ = c.Close() }()
			if len(c.ConnectionState().PeerCertificates) == 0 {
				t.Fatal("the plugin presented no certificate")
			}
			// In TLS 1.3 the server judges the client's (absent)
			// certificate after the client's handshake ends: its verdict
			// arrives as an alert on the first read.
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = c.Read(make([]byte, 1))
			if err == nil || !strings.Contains(err.Error(), "certificate required") {
				t.Fatalf("first read = %v, want the plugin's certificate required alert", err)
			}
		})
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
	// Counted where the connections arrive: the host's Settings server for
	// this process accepted exactly one, the one opened in Init.
	if n := p.Status().Detail["settings_connections"]; n != "1" {
		t.Errorf("host accepted %s Settings connections from the plugin, want 1", n)
	}
}

// strangerCert is a self-signed client certificate the plugin has never
// seen.
func strangerCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
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
