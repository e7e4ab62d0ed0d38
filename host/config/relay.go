package config

import (
	"net"
	"net/url"
	"time"
)

// Defaults of the relay section, applied by [Config.WithDefaults] when the
// relay is enabled.
const (
	DefaultRelayListen   = "127.0.0.1:8181"
	DefaultRelayInterval = 5 * time.Second
	DefaultRelayWrites   = "refuse"
)

// Relay configures relay mode: the host serves the Heksher v1 API to
// downstream clients (other hosts, Go or Python clients) from a replica of
// its upstream, on a listener of its own (docs/RELAY.md). The zero value
// runs no relay.
type Relay struct {
	// Enabled starts the relay listener.
	Enabled bool `yaml:"enabled"`
	// Listen is the relay's address; default 127.0.0.1:8181. A
	// non-loopback address is refused unless a token is configured.
	Listen string `yaml:"listen"`
	// Token, when set, is required on every downstream request as
	// "Authorization: Bearer <token>".
	Token string `yaml:"token"`
	// TokenFile names a file holding the token (trailing newline
	// ignored); an alternative to Token.
	TokenFile string `yaml:"token_file"`
	// Upstream is the Heksher service (or relay) to mirror; default the
	// host's own service: service.url, or the embedded server. Requests to
	// it carry service.headers and use service.tls and service.timeout.
	Upstream string `yaml:"upstream"`
	// Interval is the time between two queries to the upstream when it
	// offers no watch; default 5s.
	Interval Duration `yaml:"interval"`
	// Writes says what happens to rule and setting writes from downstream
	// clients: "refuse" (default, 403) or "forward". Declarations are
	// always forwarded.
	Writes string `yaml:"writes"`
	// MaxWatchers caps the downstream watches (long polls) held at once;
	// past it a watch is answered at once like a plain query. 0 means the
	// relay's default, 10,000.
	MaxWatchers int `yaml:"max_watchers"`
	// MaxForwards caps the writes (declarations among them) forwarded
	// upstream at once; the others wait their turn. 0 means 16.
	MaxForwards int `yaml:"max_forwards"`
	// MaxAnswer bounds the body of one upstream answer the relay reads;
	// a larger one fails the sync and the last snapshot stays served.
	// 0 means 256MiB.
	MaxAnswer ByteSize `yaml:"max_answer"`
	// AnswerTimeout bounds writing one answer to a downstream client,
	// from its first byte (a watch's wait comes before it), so a client
	// that never reads cannot hold the relay. 0 means 1m.
	AnswerTimeout Duration `yaml:"answer_timeout"`
}

// withDefaults fills in the relay's defaults when it is enabled.
func (r Relay) withDefaults() Relay {
	if !r.Enabled {
		return r
	}
	if r.Listen == "" {
		r.Listen = DefaultRelayListen
	}
	if r.Interval == 0 {
		r.Interval = Duration(DefaultRelayInterval)
	}
	if r.Writes == "" {
		r.Writes = DefaultRelayWrites
	}
	return r
}

func (v *validator) relay(r Relay) {
	if r.Token != "" && r.TokenFile != "" {
		v.fail("relay.token_file", "give token or token_file, not both")
	}
	if r.Listen != "" {
		if _, _, err := net.SplitHostPort(r.Listen); err != nil {
			v.fail("relay.listen", "want host:port, got %q", r.Listen)
		} else if !IsLoopback(r.Listen) && r.Token == "" && r.TokenFile == "" {
			v.fail("relay.listen", "%q is not a loopback address; settings can be sensitive, so set relay.token (or token_file) to listen there", r.Listen)
		}
	}
	if r.Upstream != "" {
		u, err := url.Parse(r.Upstream)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.fail("relay.upstream", "want an http:// or https:// URL, got %q", r.Upstream)
		}
	}
	if r.Interval < 0 {
		v.fail("relay.interval", "must not be negative")
	}
	if r.MaxWatchers < 0 {
		v.fail("relay.max_watchers", "must not be negative")
	}
	if r.MaxForwards < 0 {
		v.fail("relay.max_forwards", "must not be negative")
	}
	if r.MaxAnswer < 0 {
		v.fail("relay.max_answer", "must not be negative")
	}
	if r.AnswerTimeout < 0 {
		v.fail("relay.answer_timeout", "must not be negative")
	}
	switch r.Writes {
	case "", "refuse", "forward":
	default:
		v.fail("relay.writes", "want refuse or forward, got %q", r.Writes)
	}
}
