package host

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heksher-go/heksher/host/admin"
	"github.com/heksher-go/heksher/relay"
)

// relayRunner is the host's relay (relay mode, docs/RELAY.md): the
// mirror and its listener.
type relayRunner struct {
	r   *relay.Relay
	srv *relay.Server
	hc  *http.Client
}

// startRelay starts the relay when the configuration enables it: it
// mirrors relay.upstream (by default the service in use) and listens on
// relay.listen. It does not wait for the first snapshot; until one is
// held, downstream requests are answered as the service answers without
// its database.
func (h *Host) startRelay(ctx context.Context) error {
	rc := h.cfg.Relay
	if !rc.Enabled {
		return nil
	}
	token, err := tokenOf("relay", rc.Token, rc.TokenFile)
	if err != nil {
		return err
	}
	upstream := rc.Upstream
	if upstream == "" {
		upstream = h.ServiceURL()
	}
	hc, err := httpClient(h.cfg.Service)
	if err != nil {
		return err
	}
	hc.Timeout = 0 // each request has its own bound; a long poll lasts longer
	hdr := http.Header{}
	for k, v := range h.cfg.Service.Headers {
		hdr.Set(k, v)
	}
	for k, env := range h.cfg.Service.HeadersFromEnv {
		v := os.Getenv(env)
		if v == "" {
			return fmt.Errorf("host: service.headers_from_env.%s: environment variable %s is unset or empty", k, env)
		}
		hdr.Set(k, v)
	}
	writes := relay.RefuseWrites
	if rc.Writes == "forward" {
		writes = relay.ForwardWrites
	}
	r, err := relay.New(ctx, relay.Options{Upstream: upstream, Header: hdr, HTTPClient: hc,
		Interval: rc.Interval.D(), RequestTimeout: h.cfg.Service.Timeout.D(), Writes: writes,
		MaxWatchers: rc.MaxWatchers, MaxForwards: rc.MaxForwards, MaxAnswer: int64(rc.MaxAnswer),
		Logger: h.log.With("component", "relay")})
	if err != nil {
		return fmt.Errorf("host: %w", err)
	}
	srv, err := r.Listen(ctx, relay.ListenOptions{Listen: rc.Listen, Token: token, AnswerTimeout: rc.AnswerTimeout.D()})
	if err != nil {
		_ = r.Close(ctx)
		hc.CloseIdleConnections()
		return fmt.Errorf("host: %w", err)
	}
	h.relay = &relayRunner{r: r, srv: srv, hc: hc}
	if h.metrics != nil {
		h.registerRelayMetrics(r)
	}
	h.log.Info("relay listening", "url", srv.URL(), "upstream", upstream, "writes", rc.Writes)
	return nil
}

// close stops the listener (requests in flight, long polls too, are
// given until ctx ends) and then the mirror.
func (rr *relayRunner) close(ctx context.Context) error {
	err := errors.Join(rr.srv.Close(ctx), rr.r.Close(ctx))
	rr.hc.CloseIdleConnections()
	return err
}

// relayStatus is the relay's part of the status, nil without a relay.
func (h *Host) relayStatus() *admin.RelayStatus {
	if h.relay == nil {
		return nil
	}
	st := h.relay.r.Stats()
	return &admin.RelayStatus{URL: h.relay.srv.URL(), Upstream: st.Upstream, Ready: st.Ready,
		SnapshotAgeSeconds: st.SnapshotAge.Seconds(), Settings: st.Settings, Failing: st.Failing,
		LastError: st.LastError, Watch: st.Watch, UpstreamRequests: st.UpstreamRequests,
		UpstreamErrors: st.UpstreamErrors, Forwarded: st.Forwarded, Refused: st.Refused}
}

// registerRelayMetrics adds the relay's gauges and counters to the host's
// registry, read from its Stats at each scrape.
func (h *Host) registerRelayMetrics(r *relay.Relay) {
	gauge := func(name, help string, f func(relay.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(r.Stats()) })
	}
	counter := func(name, help string, f func(relay.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f(r.Stats())) })
	}
	for _, c := range []prometheus.Collector{
		gauge("heksher_host_relay_snapshot_age_seconds", "Seconds since the relay's upstream last confirmed its snapshot (-1 without one).",
			func(s relay.Stats) float64 {
				if !s.Ready {
					return -1
				}
				return s.SnapshotAge.Seconds()
			}),
		gauge("heksher_host_relay_upstream_up", "1 when the relay's last upstream attempt succeeded, else 0.",
			func(s relay.Stats) float64 {
				if s.Failing || !s.Ready {
					return 0
				}
				return 1
			}),
		gauge("heksher_host_relay_settings", "Settings in the relay's snapshot.", func(s relay.Stats) float64 { return float64(s.Settings) }),
		gauge("heksher_host_relay_watchers", "Downstream watches (long polls) the relay holds now.", func(s relay.Stats) float64 { return float64(s.Watchers) }),
		counter("heksher_host_relay_upstream_requests_total", "Requests the relay made to its upstream to mirror it.", func(s relay.Stats) uint64 { return s.UpstreamRequests }),
		counter("heksher_host_relay_upstream_errors_total", "Mirror attempts that failed (unreachable, slow, garbage, 5xx).", func(s relay.Stats) uint64 { return s.UpstreamErrors }),
		counter("heksher_host_relay_forwarded_total", "Downstream writes (declarations among them) forwarded upstream.", func(s relay.Stats) uint64 { return s.Forwarded }),
		counter("heksher_host_relay_refused_total", "Downstream writes refused (relay.writes: refuse).", func(s relay.Stats) uint64 { return s.Refused }),
	} {
		if err := h.metrics.Registry().Register(c); err != nil {
			h.log.Warn("host: relay metric not registered", "err", err)
		}
	}
}

// tokenOf returns a listener's token: given inline, or read from a file
// (trailing newline ignored, empty refused).
func tokenOf(section, token, file string) (string, error) {
	if file == "" {
		return token, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("host: %s token file: %w", section, err)
	}
	t := strings.TrimRight(string(b), "\r\n")
	if t == "" {
		return "", fmt.Errorf("host: %s token file %s is empty", section, file)
	}
	return t, nil
}

// RelayURL returns the relay's base URL, "" when relay mode is off or
// before Start.
func (h *Host) RelayURL() string {
	if h.relay == nil {
		return ""
	}
	return h.relay.srv.URL()
}
