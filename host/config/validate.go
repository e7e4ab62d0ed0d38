package config

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

var (
	featureRe = regexp.MustCompile(`^[a-zA-Z0-9_]+$`)
	nameRe    = regexp.MustCompile(`^[a-zA-Z0-9_.\-]+$`)
)

// Validate checks the values of c (as given; defaults need not be filled
// in) and returns the first problem as an [*Error] naming the field.
func (c Config) Validate() error { return c.validate("", nil) }

// validate checks c; pos (may be nil) locates fields in file.
func (c Config) validate(file string, pos Positions) error {
	v := c.check(file, pos)
	return v.err
}

// check runs every check of c and returns the validator holding its problems.
func (c Config) check(file string, pos Positions) *validator {
	v := &validator{file: file, pos: pos}
	v.service(c.Service)
	if c.Service.URL == "" && c.Embedded.Listen != "" && !IsLoopback(c.Embedded.Listen) {
		v.fail("embedded.listen", "the embedded server listens on loopback only; %q is not a loopback host:port", c.Embedded.Listen)
	}
	seen := map[string]bool{}
	for i, f := range c.ContextFeatures {
		p := fmt.Sprintf("context_features[%d]", i)
		if !featureRe.MatchString(f) {
			v.fail(p, "feature name %q must be letters, digits and _", f)
		}
		if seen[f] {
			v.fail(p, "feature %q listed twice", f)
		}
		seen[f] = true
	}
	if f := c.Admin.OFREPTargetingFeature; f != "" && len(c.ContextFeatures) > 0 && !seen[f] {
		v.fail("admin.ofrep_targeting_feature", "%q is not one of context_features", f)
	}
	for f, vals := range c.TrackedContexts {
		p := "tracked_contexts." + f
		if len(vals) == 0 {
			v.fail(p, "list at least one value, or \"*\" for all")
		}
		for _, x := range vals {
			if x == "*" && len(vals) > 1 {
				v.fail(p, "\"*\" tracks every value and cannot be combined with others")
			}
		}
	}
	names := map[string]bool{}
	for i, s := range c.Settings {
		p := fmt.Sprintf("settings[%d]", i)
		if s.Name == "" {
			v.fail(p+".name", "a setting needs a name")
		} else if names[s.Name] {
			v.fail(p+".name", "setting %q declared twice", s.Name)
		}
		names[s.Name] = true
		if s.Type == "" {
			v.fail(p+".type", "setting %q needs a Heksher type string such as \"int\"", s.Name)
		}
		if s.Default == nil {
			v.fail(p+".default", "setting %q needs a default value (Heksher requires one)", s.Name)
		}
		if len(s.ConfigurableFeatures) == 0 {
			// Heksher refuses such a declaration (422), which would only
			// show at run time as a setting stuck on its local default.
			v.fail(p+".configurable_features", "setting %q needs at least one configurable feature (Heksher requires one)", s.Name)
		}
	}
	plugins := map[string]bool{}
	for i, pl := range c.Plugins {
		v.plugin(fmt.Sprintf("plugins[%d]", i), pl, plugins)
	}
	v.admin(c.Admin)
	v.relay(c.Relay)
	switch c.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		v.fail("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		v.fail("log.format", "want text or json, got %q", c.Log.Format)
	}
	return v
}

type validator struct {
	file string
	pos  Positions
	err  error    // the first problem: what Load and Validate report
	errs []*Error // every problem, for LoadAll
}

// fail records a problem. Load reports the first (one clear error beats a
// list); LoadAll, for heksher-host -check, all of them.
func (v *validator) fail(field, format string, args ...any) {
	e := ErrorAt(v.file, v.pos, field, format, args...)
	if v.err == nil {
		v.err = e
	}
	v.errs = append(v.errs, e)
}

// ErrorAt returns the problem msg (formatted with args) with field of a
// file, located by pos: at the field, or, for a field not written in the
// file, at its nearest written parent.
func ErrorAt(file string, pos Positions, field, format string, args ...any) *Error {
	p, ok := pos[field]
	for f := field; !ok && f != ""; {
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
		p, ok = pos[f]
	}
	return &Error{File: file, Line: p.Line, Column: p.Column, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (v *validator) service(s Service) {
	if s.URL != "" {
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.fail("service.url", "want an http:// or https:// URL, got %q", s.URL)
		}
	}
	if (s.TLS.CertFile == "") != (s.TLS.KeyFile == "") {
		v.fail("service.tls", "cert_file and key_file go together")
	}
	for h, env := range s.HeadersFromEnv {
		if env == "" {
			v.fail("service.headers_from_env."+h, "name the environment variable holding the value")
		}
	}
}

func (v *validator) plugin(p string, pl Plugin, seen map[string]bool) {
	switch {
	case pl.Name == "":
		v.fail(p+".name", "a plugin needs a name")
	case !nameRe.MatchString(pl.Name):
		v.fail(p+".name", "plugin name %q must be letters, digits, '.', '-' and '_'", pl.Name)
	case seen[pl.Name]:
		v.fail(p+".name", "plugin name %q used twice", pl.Name)
	}
	seen[pl.Name] = true
	switch pl.Kind {
	case "wasm", "process":
	case "":
		v.fail(p+".kind", "say kind: wasm or kind: process")
	default:
		v.fail(p+".kind", "want wasm or process, got %q", pl.Kind)
	}
	if pl.Path == "" {
		v.fail(p+".path", "a plugin needs a path")
	}
	if pl.SHA256 != "" {
		if b, err := hex.DecodeString(pl.SHA256); err != nil || len(b) != 32 {
			v.fail(p+".sha256", "want 64 hex digits, got %q", pl.SHA256)
		}
	}
	if ml := pl.MemoryLimit; pl.Kind == "wasm" && ml != 0 && (ml < 128<<10 || ml > 4<<30 || ml%(64<<10) != 0) {
		v.fail(p+".memory_limit", "want a whole number of 64KiB wasm pages between 128KiB and 4GiB (a Go guest needs at least 4MiB), got %s", ml)
	}
	if pl.QueueSize < 0 {
		v.fail(p+".queue_size", "must not be negative")
	}
	if r := pl.Output.Rate; r != 0 && r < 1<<10 {
		v.fail(p+".output.rate", "want at least 1KiB (bytes per second), got %s", r)
	}
	if m := pl.Output.MaxLine; m != 0 && (m < 1<<10 || m > 1<<20) {
		v.fail(p+".output.max_line", "want between 1KiB and 1MiB, got %s", m)
	}
	if pl.StartTimeout < 0 {
		v.fail(p+".start_timeout", "must not be negative")
	}
	switch pl.OnDeclarationConflict {
	case "", OnConflictKeep, OnConflictUnload:
	default:
		v.fail(p+".on_declaration_conflict", "want %s or %s, got %q", OnConflictKeep, OnConflictUnload, pl.OnDeclarationConflict)
	}
	if pl.Kind == "process" && pl.Grants.Dir != (DirGrant{}) {
		v.fail(p+".grants.dir", "directory grants apply to wasm plugins only; a process plugin sees the host's file system")
	}
	if d := pl.Grants.Dir; d != (DirGrant{}) && d.Host == "" {
		v.fail(p+".grants.dir.host", "name the host directory")
	}
}

func (v *validator) admin(a Admin) {
	if a.Token != "" && a.TokenFile != "" {
		v.fail("admin.token_file", "give token or token_file, not both")
	}
	if a.Listen != "" {
		if _, _, err := net.SplitHostPort(a.Listen); err != nil {
			v.fail("admin.listen", "want host:port, got %q", a.Listen)
		} else if !IsLoopback(a.Listen) && a.Token == "" && a.TokenFile == "" {
			v.fail("admin.listen", "%q is not a loopback address; settings can be sensitive, so set admin.token (or token_file) to listen there", a.Listen)
		}
	}
	if a.EventsShown < 0 {
		v.fail("admin.events_shown", "must not be negative")
	}
}

// IsLoopback reports whether the host:port addr names only the loopback
// interface ("localhost", 127.0.0.0/8 or ::1). An empty host means every
// interface and is not loopback.
func IsLoopback(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// resolvePaths returns c with relative paths made relative to dir.
func (c Config) resolvePaths(dir string) Config {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	c.StateDir = abs(c.StateDir)
	c.Embedded.Seed = abs(c.Embedded.Seed)
	c.Service.TLS.CAFile = abs(c.Service.TLS.CAFile)
	c.Service.TLS.CertFile = abs(c.Service.TLS.CertFile)
	c.Service.TLS.KeyFile = abs(c.Service.TLS.KeyFile)
	c.Admin.TokenFile = abs(c.Admin.TokenFile)
	c.Relay.TokenFile = abs(c.Relay.TokenFile)
	if len(c.Plugins) > 0 {
		ps := make([]Plugin, len(c.Plugins))
		copy(ps, c.Plugins)
		for i := range ps {
			ps[i].Path = abs(ps[i].Path)
			ps[i].Grants.Dir.Host = abs(ps[i].Grants.Dir.Host)
		}
		c.Plugins = ps
	}
	return c
}

func dirOf(path string) string {
	d, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return filepath.Dir(path)
	}
	return d
}
