package host

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/pluginapi"
)

// newClient builds the client core from the configuration: HTTP options,
// context features, defaults, tracked contexts, the shared dispatcher, the
// snapshot file and the degraded start.
func (h *Host) newClient() error {
	hc, err := httpClient(h.cfg.Service)
	if err != nil {
		return err
	}
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
	c, err := heksher.NewClient(h.ServiceURL(), h.cfg.UpdateInterval.D(), h.cfg.ContextFeatures,
		heksher.WithHTTPClient(hc),
		heksher.WithHeaders(hdr),
		heksher.WithLogger(h.log.With("component", "client")),
		heksher.WithDispatcher(h.disp),
		heksher.WithRequestTimeout(h.cfg.Service.Timeout.D()),
		heksher.WithDegradedStart(heksher.Backoff{}),
		heksher.WithSnapshotFile(h.snapshotPath()),
	)
	if err != nil {
		return fmt.Errorf("host: %w", err)
	}
	h.client = c
	if len(h.cfg.ContextDefaults) > 0 {
		defs := make(map[string]heksher.Default, len(h.cfg.ContextDefaults))
		for k, v := range h.cfg.ContextDefaults {
			defs[k] = heksher.Static(v)
		}
		if err := c.SetDefaults(defs); err != nil {
			return fmt.Errorf("host: context_defaults: %w", err)
		}
	}
	if len(h.cfg.TrackedContexts) > 0 {
		if err := c.TrackContexts(h.cfg.TrackedContexts); err != nil {
			return fmt.Errorf("host: tracked_contexts: %w", err)
		}
	}
	return nil
}

func httpClient(s config.Service) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t := s.TLS
	if t.CAFile != "" || t.CertFile != "" || t.ServerName != "" || t.InsecureSkipVerify {
		tc := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in, documented as tests only
		if t.CAFile != "" {
			pem, err := os.ReadFile(t.CAFile)
			if err != nil {
				return nil, fmt.Errorf("host: service.tls.ca_file: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("host: service.tls.ca_file %s: no PEM certificates", t.CAFile)
			}
			tc.RootCAs = pool
		}
		if t.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("host: service.tls client certificate: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		tr.TLSClientConfig = tc
	}
	return &http.Client{Transport: tr, Timeout: s.Timeout.D()}, nil
}

// declareHostSettings declares the settings of the configuration itself.
func (h *Host) declareHostSettings() error {
	var decls []pluginapi.Declaration
	for i, s := range h.cfg.Settings {
		var def json.RawMessage
		if s.Default != nil {
			b, err := json.Marshal(jsonable(s.Default))
			if err != nil {
				return fmt.Errorf("host: settings[%d].default: %w", i, err)
			}
			def = b
		}
		d, err := normalize(pluginapi.Declaration{Name: s.Name, Type: s.Type, ConfigurableFeatures: s.ConfigurableFeatures,
			Default: def, Version: s.Version, Metadata: s.Metadata})
		if err != nil {
			return fmt.Errorf("host: settings[%d]: %w", i, err)
		}
		decls = append(decls, d)
	}
	if err := h.reg.check(ownerHost, decls); err != nil {
		return err
	}
	return h.declare(context.Background(), h.reg.add(ownerHost, decls))
}

// declare creates the core settings for declarations new to the registry;
// the client declares them (before its first update, or at once when it
// already runs) and keeps them up to date.
func (h *Host) declare(_ context.Context, decls []pluginapi.Declaration) error {
	for _, d := range decls {
		typ, err := heksher.ParseType(d.Type)
		if err != nil {
			return fmt.Errorf("host: setting %q: %w", d.Name, err)
		}
		opts := []heksher.SettingOption{heksher.WithClient(h.client), heksher.WithVersion(d.Version), heksher.WithSettingLogger(h.log)}
		if len(d.Metadata) > 0 {
			opts = append(opts, heksher.WithMetadata(d.Metadata))
		}
		s, err := heksher.NewSetting(d.Name, typ, d.ConfigurableFeatures, d.Default, opts...)
		if err != nil {
			return fmt.Errorf("host: setting %q: %w", d.Name, err)
		}
		h.settingsMu.Lock()
		h.settings[d.Name] = s
		h.settingsMu.Unlock()
	}
	if len(decls) > 0 && h.ready.Load() {
		h.fetchSoon()
	}
	return nil
}

// lookup resolves a setting for the lookup API and the plugins.
func (h *Host) lookup(ctx context.Context, setting string, features []pluginapi.Feature) (pluginapi.Value, error) {
	h.settingsMu.RLock()
	s, ok := h.settings[setting]
	h.settingsMu.RUnlock()
	if !ok {
		return pluginapi.Value{}, fmt.Errorf("%w: %q", pluginapi.ErrNotFound, setting)
	}
	explicit := make(map[string]string, len(features))
	for _, f := range features {
		explicit[f.Name] = f.Value
	}
	r, err := s.Lookup(ctx, explicit)
	if err != nil {
		if errors.Is(err, heksher.ErrNotConfigurable) || errors.Is(err, heksher.ErrMissingContextFeature) {
			return pluginapi.Value{}, fmt.Errorf("%w: %w", pluginapi.ErrBadContext, err)
		}
		return pluginapi.Value{}, fmt.Errorf("host: lookup %q: %w", setting, err)
	}
	return pluginapi.Value{JSON: r.Value, Source: pluginapi.Source(r.Source), RuleID: r.RuleID, Conditions: r.Conditions}, nil
}

// Lookup implements admin.Backend: a lookup without the declaration check.
func (h *Host) Lookup(ctx context.Context, setting string, features []pluginapi.Feature) (pluginapi.Value, error) {
	return h.lookup(ctx, setting, features)
}

// pluginSettings is the pluginapi.Settings the host gives one plugin.
type pluginSettings struct {
	h      *Host
	plugin string
	grants config.Grants
}

func (h *Host) pluginSettings(plugin string, grants config.Grants) pluginapi.Settings {
	return &pluginSettings{h: h, plugin: plugin, grants: grants}
}

// Lookup resolves setting for the plugin, which must have declared it unless
// its grants allow undeclared reads.
func (p *pluginSettings) Lookup(ctx context.Context, plugin, setting string, features []pluginapi.Feature) (pluginapi.Value, error) {
	if plugin == "" {
		plugin = p.plugin
	}
	declared, exists := p.h.reg.declaredBy(setting, plugin)
	if !exists {
		return pluginapi.Value{}, fmt.Errorf("%w: %q", pluginapi.ErrNotFound, setting)
	}
	if !declared && !p.grants.UndeclaredReads {
		return pluginapi.Value{}, fmt.Errorf("%w: plugin %q did not declare %q", pluginapi.ErrNotDeclared, plugin, setting)
	}
	return p.h.lookup(ctx, setting, features)
}
