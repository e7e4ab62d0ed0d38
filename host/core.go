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
	"sync"
	"time"

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
	opts := []heksher.Option{
		heksher.WithHTTPClient(hc),
		heksher.WithHeaders(hdr),
		heksher.WithLogger(h.log.With("component", "client")),
		heksher.WithDispatcher(h.disp),
		heksher.WithRequestTimeout(h.cfg.Service.Timeout.D()),
		heksher.WithDegradedStart(heksher.Backoff{}),
		heksher.WithSnapshotFile(h.snapshotPath()),
	}
	if !h.cfg.Service.Watch.Enabled(true) {
		opts = append(opts, heksher.WithoutWatch())
	}
	c, err := heksher.NewClient(h.ServiceURL(), h.cfg.UpdateInterval.D(), h.cfg.ContextFeatures, opts...)
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
			b, err := json.Marshal(config.JSONable(s.Default))
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
	return pluginapi.Value{JSON: r.Value, Source: pluginapi.Source(r.Source), Origin: h.originOf(r.Retrieved),
		RuleID: r.RuleID, Conditions: r.Conditions}, nil
}

// originOf says where the rules of a setting came from, given whether it
// has received any: the client's origin then (the service's latest answer,
// or the snapshot loaded while the service was down), else the defaults.
// Once the client serves the service's answers it never goes back, so only
// lookups made before that ask the client.
func (h *Host) originOf(retrieved bool) pluginapi.Origin {
	if !retrieved {
		return pluginapi.OriginDefaults
	}
	if h.fromService.Load() {
		return pluginapi.OriginService
	}
	switch h.client.Status().Origin {
	case heksher.OriginService:
		h.fromService.Store(true)
		return pluginapi.OriginService
	case heksher.OriginSnapshot:
		return pluginapi.OriginSnapshot
	}
	return pluginapi.OriginDefaults
}

// Lookup implements admin.Backend: a lookup without the declaration check.
func (h *Host) Lookup(ctx context.Context, setting string, features []pluginapi.Feature) (pluginapi.Value, error) {
	return h.lookup(ctx, setting, features)
}

// initFetchTimeout bounds how long a lookup during a plugin's
// initialisation waits for the service's rules of a setting that the
// plugin has just declared (see pluginSettings.Lookup); the start-up
// timeout bounds it too when shorter.
const initFetchTimeout = 2 * time.Second

// pluginSettings is the pluginapi.Settings the host gives one load of a
// plugin. It also registers the declarations the plugin makes while it
// initialises (pluginapi.InitDeclarer), so that the same initialisation can
// look them up before the plugin is committed.
type pluginSettings struct {
	h      *Host
	plugin string
	grants config.Grants

	mu sync.Mutex
	// early are the declarations made during this load's initialisations
	// (normalised), by name; fetched the settings whose rules a lookup has
	// already waited for.
	early   map[string]pluginapi.Declaration
	fetched map[string]bool
}

func (h *Host) pluginSettings(plugin string, grants config.Grants) pluginapi.Settings {
	return &pluginSettings{h: h, plugin: plugin, grants: grants}
}

// DeclareAtInit records d, declared by the plugin while it initialises, so
// that the lookups of the same initialisation may read it (see Lookup). The
// plugin's manifest is checked as ever when it is committed; a declaration
// refused here is refused there with its reason.
func (p *pluginSettings) DeclareAtInit(_ context.Context, plugin string, d pluginapi.Declaration) error {
	nd, err := normalize(d)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.early == nil {
		p.early = map[string]pluginapi.Declaration{}
	}
	if prev, ok := p.early[nd.Name]; ok {
		return compare(nd.Name, fmt.Sprintf("plugin %q", plugin), prev, nd)
	}
	p.early[nd.Name] = nd
	return nil
}

// earlyDecl reports whether this load declared setting while it
// initialised and the host knows it with the same declaration: the plugin
// may then read it before it is committed. A setting nobody declared yet is
// declared at once, provisionally (a declaration committed later replaces it
// if it differs), so that its rules can be fetched for the lookup.
func (p *pluginSettings) earlyDecl(ctx context.Context, setting string) bool {
	p.mu.Lock()
	d, ok := p.early[setting]
	p.mu.Unlock()
	if !ok {
		return false
	}
	if p.h.reg.addProvisional(d) {
		if err := p.h.declare(ctx, []pluginapi.Declaration{d}); err != nil {
			p.h.log.Warn("declaring a setting looked up at init", "plugin", p.plugin, "setting", setting, "err", err)
			return false
		}
	}
	same, _ := p.h.reg.matches(d)
	return same
}

// fetchEarly waits, once per setting and load, for the service's rules of
// a setting declared during the initialisation and not received yet,
// bounded by initFetchTimeout. Nothing is waited for when the host does not
// serve the service's answers (the service is down): the lookup answers
// from the snapshot or the default at once.
func (p *pluginSettings) fetchEarly(ctx context.Context, setting string) {
	h := p.h
	p.mu.Lock()
	done := p.fetched[setting]
	if p.fetched == nil {
		p.fetched = map[string]bool{}
	}
	p.fetched[setting] = true
	p.mu.Unlock()
	if done || h.client == nil || !h.ready.Load() {
		return
	}
	h.settingsMu.RLock()
	s := h.settings[setting]
	h.settingsMu.RUnlock()
	if s == nil || s.RuleSet().Retrieved || h.originOf(true) != pluginapi.OriginService {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, min(initFetchTimeout, h.cfg.StartupTimeout.D()))
	defer cancel()
	if err := h.client.Reload(ctx); err != nil {
		h.log.Debug("fetching the rules of a setting declared at init", "plugin", p.plugin, "setting", setting, "err", err)
	}
}

// Lookup resolves setting for the plugin, which must have declared it unless
// its grants allow undeclared reads. A setting the plugin declared during
// the initialisation in progress counts as declared (see DeclareAtInit).
func (p *pluginSettings) Lookup(ctx context.Context, plugin, setting string, features []pluginapi.Feature) (pluginapi.Value, error) {
	if plugin == "" {
		plugin = p.plugin
	}
	declared, exists := p.h.reg.declaredBy(setting, plugin)
	if !declared && p.earlyDecl(ctx, setting) {
		declared, exists = true, true
		p.fetchEarly(ctx, setting)
	}
	if !exists {
		return pluginapi.Value{}, fmt.Errorf("%w: %q", pluginapi.ErrNotFound, setting)
	}
	if !declared && !p.grants.UndeclaredReads {
		return pluginapi.Value{}, fmt.Errorf("%w: plugin %q did not declare %q", pluginapi.ErrNotDeclared, plugin, setting)
	}
	return p.h.lookup(ctx, setting, features)
}
