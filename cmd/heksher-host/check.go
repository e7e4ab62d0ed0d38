package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/heksher-go/heksher/host/config"
	"github.com/heksher-go/heksher/host/wasm"
	"github.com/heksher-go/heksher/internal/htype"
	"github.com/heksher-go/heksher/internal/server"
)

// problems collects what -check finds, each located in the configuration
// file where it can be.
type problems struct {
	file     string
	pos      config.Positions
	errs     []error
	warnings []string
}

func (p *problems) add(field, format string, args ...any) {
	p.errs = append(p.errs, config.ErrorAt(p.file, p.pos, field, format, args...))
}

func (p *problems) warn(field, format string, args ...any) {
	p.warnings = append(p.warnings, config.ErrorAt(p.file, p.pos, field, format, args...).Error())
}

// check implements -check: it loads the configuration at path and checks
// everything it can without starting anything: every value of the file, the
// files it names (plugins, seed, certificates, token), each plugin's
// checksum, each wasm module against the ABI (compiled and validated, never
// instantiated: no plugin code runs), each process plugin's executable bit,
// and each setting's type and default. It prints every problem, with the
// file:line it comes from, and returns the exit code.
func check(ctx context.Context, path string, stdout, stderr io.Writer) int {
	cfg, pos, errs := config.LoadAll(path)
	p := &problems{file: path, pos: pos, errs: errs}
	if pos != nil { // the file decoded: check what it names
		p.settings(cfg)
		p.files(cfg)
		p.plugins(ctx, cfg)
	}
	for _, w := range p.warnings {
		fmt.Fprintln(stderr, "heksher-host: warning:", w)
	}
	if len(p.errs) == 0 {
		fmt.Fprintf(stdout, "%s: ok\n", path)
		return exitOK
	}
	slices.SortStableFunc(p.errs, func(a, b error) int { return cmp.Compare(lineOf(a), lineOf(b)) })
	for _, err := range p.errs {
		fmt.Fprintln(stderr, "heksher-host:", err)
	}
	s := "s"
	if len(p.errs) == 1 {
		s = ""
	}
	fmt.Fprintf(stderr, "heksher-host: %s: %d problem%s\n", path, len(p.errs), s)
	return exitFailed
}

// lineOf returns the line of the file that err comes from (0 if none).
func lineOf(err error) int {
	if e, ok := errors.AsType[*config.Error](err); ok {
		return e.Line
	}
	return 0
}

// settings checks each setting's type and that its default is of it, as
// the host does when it declares them at start.
func (p *problems) settings(cfg config.Config) {
	for i, s := range cfg.Settings {
		if s.Type == "" {
			continue // reported by the configuration's own checks
		}
		f := fmt.Sprintf("settings[%d]", i)
		t, err := htype.Parse(s.Type)
		if err != nil {
			msg := fmt.Sprintf("setting %q: %q is not a Heksher type", s.Name, s.Type)
			if te, ok := errors.AsType[*htype.TypeError](err); ok && te.Reason != "unknown type" {
				msg += " (" + te.Reason + ")"
			}
			p.add(f+".type", "%s; %s", msg, htype.Hint(s.Type))
			continue
		}
		if s.Default == nil {
			continue // reported by the configuration's own checks
		}
		b, err := json.Marshal(config.JSONable(s.Default))
		if err != nil {
			p.add(f+".default", "setting %q: the default cannot be written as JSON: %v", s.Name, err)
			continue
		}
		if err := t.Validate(b); err != nil {
			p.add(f+".default", "setting %q: the default %s is not of type %s; give a value of that type", s.Name, b, t)
		}
	}
}

// files checks the files and directories the configuration names, other
// than the plugins'.
func (p *problems) files(cfg config.Config) {
	if cfg.Service.URL == "" && cfg.Embedded.Seed != "" {
		if _, err := server.LoadSeedFile(cfg.Embedded.Seed); err != nil {
			p.add("embedded.seed", "%v", err)
		}
	}
	if f := cfg.Service.TLS.CAFile; f != "" {
		if b, err := os.ReadFile(f); err != nil {
			p.add("service.tls.ca_file", "%v", err)
		} else if !x509.NewCertPool().AppendCertsFromPEM(b) {
			p.add("service.tls.ca_file", "%s holds no PEM certificate", f)
		}
	}
	if c, k := cfg.Service.TLS.CertFile, cfg.Service.TLS.KeyFile; c != "" && k != "" {
		if _, err := tls.LoadX509KeyPair(c, k); err != nil {
			p.add("service.tls.cert_file", "client certificate: %v", err)
		}
	}
	for h, env := range cfg.Service.HeadersFromEnv {
		if env != "" && os.Getenv(env) == "" {
			p.add("service.headers_from_env."+h, "header %s comes from $%s, which is unset or empty here (the host refuses to start without it)", h, env)
		}
	}
	if f := cfg.Admin.TokenFile; f != "" {
		if b, err := os.ReadFile(f); err != nil {
			p.add("admin.token_file", "%v", err)
		} else if strings.TrimSpace(string(b)) == "" {
			p.add("admin.token_file", "%s is empty", f)
		}
	}
	if fi, err := os.Stat(cfg.StateDir); err == nil && !fi.IsDir() {
		p.add("state_dir", "%s is not a directory", cfg.StateDir)
	}
}

// plugins checks each plugin's file: that it exists, its checksum, and, for
// a wasm module, validation against the ABI without running it; for a
// process plugin, that it is an executable regular file.
func (p *problems) plugins(ctx context.Context, cfg config.Config) {
	var rt *wasm.Runtime
	defer func() {
		if rt != nil {
			_ = rt.Close(context.Background())
		}
	}()
	for i, pl := range cfg.Plugins {
		f := fmt.Sprintf("plugins[%d]", i)
		if d := pl.Grants.Dir.Host; d != "" {
			if fi, err := os.Stat(d); err != nil {
				p.add(f+".grants.dir.host", "plugin %q: granted directory: %v", pl.Name, err)
			} else if !fi.IsDir() {
				p.add(f+".grants.dir.host", "plugin %q: granted directory %s is not a directory", pl.Name, d)
			}
		}
		if pl.Path == "" {
			continue // reported by the configuration's own checks
		}
		fi, err := os.Stat(pl.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			p.add(f+".path", "plugin %q: %s does not exist", pl.Name, pl.Path)
			continue
		case err != nil:
			p.add(f+".path", "plugin %q: %v", pl.Name, err)
			continue
		case !fi.Mode().IsRegular():
			p.add(f+".path", "plugin %q: %s is not a regular file (%v)", pl.Name, pl.Path, fi.Mode().Type())
			continue
		}
		switch pl.Kind {
		case "process":
			if fi.Mode().Perm()&0o111 == 0 {
				p.add(f+".path", "plugin %q: %s is not executable (mode %v); chmod +x it", pl.Name, pl.Path, fi.Mode().Perm())
			}
			if pl.SHA256 != "" {
				p.checksum(f, pl)
			}
		case "wasm":
			if rt == nil {
				// An in-memory compilation cache: -check writes nothing.
				if rt, err = wasm.NewRuntime(ctx, wasm.RuntimeConfig{}); err != nil {
					p.add(f, "plugin %q: %v", pl.Name, err)
					continue
				}
			}
			p.wasmModule(ctx, rt, f, pl)
		}
	}
}

func (p *problems) checksum(f string, pl config.Plugin) {
	b, err := os.ReadFile(pl.Path)
	if err != nil {
		p.add(f+".path", "plugin %q: %v", pl.Name, err)
		return
	}
	if sum := sha256.Sum256(b); !strings.EqualFold(hex.EncodeToString(sum[:]), pl.SHA256) {
		p.add(f+".sha256", "plugin %q: %s has sha256 %x, not the configured one; if the file is the one you mean, configure its sum", pl.Name, pl.Path, sum)
	}
}

func (p *problems) wasmModule(ctx context.Context, rt *wasm.Runtime, f string, pl config.Plugin) {
	pl = pl.WithDefaults()
	warnings, err := rt.Check(ctx, wasm.PluginConfig{Name: pl.Name, Path: pl.Path, SHA256: pl.SHA256,
		MemoryLimitPages: uint32(pl.MemoryLimit / (64 << 10))})
	for _, w := range warnings {
		p.warn(f+".path", "plugin %q: %s", pl.Name, w)
	}
	ve, isValidation := errors.AsType[*wasm.ValidationError](err)
	switch {
	case err == nil:
	case errors.Is(err, wasm.ErrChecksum):
		sum := "?"
		if b, rerr := os.ReadFile(pl.Path); rerr == nil {
			s := sha256.Sum256(b)
			sum = hex.EncodeToString(s[:])
		}
		p.add(f+".sha256", "plugin %q: %s has sha256 %s, not the configured one; if the file is the one you mean, configure its sum", pl.Name, pl.Path, sum)
	case isValidation && len(ve.Problems) > 0:
		for _, prob := range ve.Problems {
			p.add(f+".path", "plugin %q: invalid module: %s", pl.Name, prob)
		}
	case isValidation && strings.Contains(fmt.Sprint(ve.Err), "over limit"):
		p.add(f+".memory_limit", "plugin %q: the module's minimum memory is over the memory limit (%s): raise memory_limit: %v", pl.Name, pl.MemoryLimit, ve.Err)
	default:
		p.add(f+".path", "plugin %q: %v", pl.Name, strings.TrimPrefix(err.Error(), "wasm: "))
	}
}
