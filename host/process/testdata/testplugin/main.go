// Command testplugin is the process plugin the host/process tests drive. It
// records every event and its Init to a JSON-lines file and, for a
// SettingChanged event whose setting names a command, misbehaves on purpose:
//
//	cmd.panic   panics in the handler (the process dies)
//	cmd.exit    exits the process with status 3 in the middle of the call
//	cmd.kill    records "kill_me" and waits for SIGKILL in the middle of the call
//	cmd.spin    records "hanging", then loops in pure code forever, ignoring its deadline
//	cmd.block   records "hanging", then blocks forever, ignoring its deadline
//	cmd.fail    returns an error (the process stays up)
//	cmd.lookup  looks up the setting named in the new server default
//	cmd.bench   times lookups through the host against bare gRPC calls
//
// Built by `make process-plugins` into testdata/bin/testplugin.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/plugin"
	"github.com/heksher-go/heksher/sdk/proto/pluginv1"
)

type config struct {
	Record   string `json:"record"`
	FailInit bool   `json:"fail_init"`
	// DeclarePID adds a declaration "test.pid" whose default is the
	// process id, so that a test can tell which Init the host's manifest
	// came from.
	DeclarePID bool `json:"declare_pid"`
	// InitLookup makes Init look "test.limit" up through the host before
	// it returns, and record the answer, so that a test can tell the
	// process had a working connection to the host before any event.
	InitLookup bool `json:"init_lookup"`
	// InitDeclare makes Init declare "test.limit" by InitRequest.Declare
	// before that lookup and leave it out of the manifest it returns; the
	// first setting_changed then tries to Declare again and records the
	// error ("late_declare").
	InitDeclare bool `json:"init_declare"`
	// HangInit makes Init record its pid and then block forever, ignoring
	// its deadline.
	HangInit bool `json:"hang_init"`
	// CrashIf makes the process exit 50 ms after a successful Init while
	// the file it names exists: a plugin that crashes right after every
	// start.
	CrashIf string `json:"crash_if"`
	// Settings is the manifest's selection of settings whose changes it
	// receives besides test.limit; absent, every setting ("*").
	Settings *[]string `json:"settings"`
	// HangClosing makes the closing handler record "closing_hangs" and
	// block forever, ignoring its deadline.
	HangClosing bool `json:"hang_closing"`
}

type testPlugin struct {
	plugin.Base
	mu       sync.Mutex
	cfg      config
	settings *plugin.Settings
	bare     pluginv1.SettingsClient
	initReq  plugin.InitRequest
	late     sync.Once
}

// record is one line of the record file.
type record struct {
	PID     int    `json:"pid"`
	What    string `json:"what"`
	Seq     uint64 `json:"seq,omitempty"`
	Dropped uint64 `json:"dropped,omitempty"`
	// Setting, Initial and Unreadable describe a setting_changed, Reason
	// a closing.
	Setting    string          `json:"setting,omitempty"`
	Initial    bool            `json:"initial,omitempty"`
	Unreadable bool            `json:"unreadable,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	Event      json.RawMessage `json:"event,omitempty"`
	Error      string          `json:"error,omitempty"`
	Value      json.RawMessage `json:"value,omitempty"`
	Source     string          `json:"source,omitempty"`
	Config     json.RawMessage `json:"config,omitempty"`
	Name       string          `json:"name,omitempty"`
	Args       []string        `json:"args,omitempty"`
	Env        []string        `json:"env,omitempty"`
	// InitLookup is what the lookup during Init got: a value source or an
	// error sentinel's name.
	InitLookup string `json:"init_lookup,omitempty"`
	// InitOrigin and InitValue are where that lookup's value came from
	// and the value, when it succeeded.
	InitOrigin string          `json:"init_origin,omitempty"`
	InitValue  json.RawMessage `json:"init_value,omitempty"`
	// InitDeclare is what InitRequest.Declare returned: "ok" or the error.
	InitDeclare string `json:"init_declare,omitempty"`
	// Bench results, nanoseconds per call.
	BrokerNS float64 `json:"broker_ns,omitempty"`
	BareNS   float64 `json:"bare_ns,omitempty"`
}

// hostPID is the process's pid as the host sees it. The host starts a
// plugin as the init of a PID namespace of its own, where os.Getpid() is 1;
// /proc is the host's, so /proc/self names the host's pid.
func hostPID() int {
	if s, err := os.Readlink("/proc/self"); err == nil {
		if pid, err := strconv.Atoi(s); err == nil {
			return pid
		}
	}
	return os.Getpid()
}

func (p *testPlugin) write(r record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.Record == "" {
		return nil
	}
	r.PID = hostPID()
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p.cfg.Record, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	return errors.Join(err, f.Close())
}

func (p *testPlugin) Init(ctx context.Context, req plugin.InitRequest) (pluginapi.Manifest, error) {
	if len(req.Config) > 0 {
		if err := json.Unmarshal(req.Config, &p.cfg); err != nil {
			return pluginapi.Manifest{}, err
		}
	}
	if p.cfg.FailInit {
		return pluginapi.Manifest{}, errors.New("init failure requested by config")
	}
	if p.cfg.HangInit {
		if err := p.write(record{What: "init_hang"}); err != nil {
			return pluginapi.Manifest{}, err
		}
		select {} // never looks at ctx
	}
	p.settings = req.Settings
	limit := pluginapi.Declaration{
		Name: "test.limit", Type: "int", ConfigurableFeatures: []string{"env"}, Default: json.RawMessage("7"),
	}
	var initLookup, initOrigin, initDeclare string
	var initValue json.RawMessage
	if p.cfg.InitDeclare {
		p.initReq = req
		initDeclare = "ok"
		if err := req.Declare(ctx, limit); err != nil {
			initDeclare = err.Error()
		}
	}
	if p.cfg.InitLookup {
		v, err := p.settings.Lookup(ctx, "test.limit")
		initLookup = outcome(v, err)
		if err == nil {
			initOrigin, initValue = v.Origin.String(), v.JSON
		}
	}
	req.Logger.Info("test plugin initialised", "pid", hostPID())
	m := pluginapi.Manifest{
		Subscriptions: event.All,
	}
	if !p.cfg.InitDeclare {
		m.Declarations = []pluginapi.Declaration{limit}
	}
	m.Settings = []string{pluginapi.AllSettings}
	if p.cfg.Settings != nil {
		m.Settings = *p.cfg.Settings
	}
	if p.cfg.DeclarePID {
		m.Declarations = append(m.Declarations, pluginapi.Declaration{
			Name: "test.pid", Type: "int", Default: json.RawMessage(strconv.Itoa(hostPID())),
		})
	}
	if p.cfg.CrashIf != "" {
		if _, err := os.Stat(p.cfg.CrashIf); err == nil {
			time.AfterFunc(50*time.Millisecond, func() { os.Exit(4) })
		}
	}
	return m, p.write(record{What: "init", Config: req.Config, Name: req.Name, Args: os.Args[1:], Env: os.Environ(),
		InitLookup: initLookup, InitOrigin: initOrigin, InitValue: initValue, InitDeclare: initDeclare})
}

func (p *testPlugin) log(what string, d plugin.Delivery, e any) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return p.write(record{What: what, Seq: d.Seq, Dropped: d.Dropped, Event: b})
}

func (p *testPlugin) OnDeclared(_ context.Context, d plugin.Delivery, e *event.Declared) error {
	return p.log("declared", d, e)
}

func (p *testPlugin) OnUpdateOK(_ context.Context, d plugin.Delivery, e *event.UpdateOK) error {
	return p.log("update_ok", d, e)
}

func (p *testPlugin) OnUpdateError(_ context.Context, d plugin.Delivery, e *event.UpdateError) error {
	return p.write(record{What: "update_error", Seq: d.Seq, Error: e.Err.Error(),
		Value: json.RawMessage(fmt.Sprintf(`{"consecutive":%d,"since_ns":%d}`, e.ConsecutiveFailures, e.SinceLastSuccess()))})
}

func (p *testPlugin) OnClosing(_ context.Context, d plugin.Delivery, e *event.Closing) error {
	if p.cfg.HangClosing {
		if err := p.write(record{What: "closing_hangs", Seq: d.Seq, Reason: e.Reason.String()}); err != nil {
			return err
		}
		select {} // never looks at ctx
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return p.write(record{What: "closing", Seq: d.Seq, Dropped: d.Dropped, Reason: e.Reason.String(), Event: b})
}

var sink int

func (p *testPlugin) OnSettingChanged(ctx context.Context, d plugin.Delivery, e *event.SettingChanged) error {
	if p.cfg.InitDeclare {
		var err error
		p.late.Do(func() {
			msg := "ok"
			if derr := p.initReq.Declare(ctx, pluginapi.Declaration{Name: "test.late", Type: "int", Default: json.RawMessage("1")}); derr != nil {
				msg = derr.Error()
			}
			err = p.write(record{What: "late_declare", Error: msg})
		})
		if err != nil {
			return err
		}
	}
	switch e.Setting {
	case "cmd.panic":
		panic("testplugin: panic requested")
	case "cmd.exit":
		os.Exit(3)
	case "cmd.kill":
		// As the init of its own PID namespace the process cannot kill
		// itself (an init ignores signals from inside its namespace that it
		// has no handler for, SIGKILL included): it records "kill_me" for
		// the test to send the SIGKILL from outside, in the middle of the
		// call. Elsewhere its own SIGKILL does it.
		if err := p.write(record{What: "kill_me", Seq: d.Seq}); err != nil {
			return err
		}
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // never return
	case "cmd.spin":
		if err := p.write(record{What: "hanging", Seq: d.Seq}); err != nil {
			return err
		}
		for i := 0; ; i++ { // pure code, never looks at ctx
			sink = i
		}
	case "cmd.block":
		if err := p.write(record{What: "hanging", Seq: d.Seq}); err != nil {
			return err
		}
		select {} // never looks at ctx
	case "cmd.fail":
		return errors.New("failure requested")
	case "cmd.lookup":
		return p.lookup(ctx, e.New.Default)
	case "cmd.bench":
		return p.bench(ctx, e.New.Default)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return p.write(record{What: "setting_changed", Seq: d.Seq, Dropped: d.Dropped, Setting: e.Setting,
		Initial: e.Initial(), Unreadable: d.Unreadable, Event: b})
}

type lookupCmd struct {
	Setting  string            `json:"setting"`
	Features map[string]string `json:"features"`
}

func (p *testPlugin) lookup(ctx context.Context, raw json.RawMessage) error {
	var c lookupCmd
	if err := json.Unmarshal(raw, &c); err != nil {
		return err
	}
	var fs []pluginapi.Feature
	for k, v := range c.Features {
		fs = append(fs, pluginapi.Feature{Name: k, Value: v})
	}
	v, err := p.settings.Lookup(ctx, c.Setting, fs...)
	r := record{What: "lookup", Value: v.JSON, Source: outcome(v, err)}
	if err != nil {
		r.Error = err.Error()
	}
	return p.write(r)
}

// outcome names a lookup's answer: the value's source, or the sentinel the
// error matches (the error text when none does).
func outcome(v pluginapi.Value, err error) string {
	switch {
	case err == nil:
		return v.Source.String()
	case errors.Is(err, pluginapi.ErrNotFound):
		return "ErrNotFound"
	case errors.Is(err, pluginapi.ErrNotDeclared):
		return "ErrNotDeclared"
	case errors.Is(err, pluginapi.ErrBadContext):
		return "ErrBadContext"
	}
	return err.Error()
}

type benchCmd struct {
	N      int    `json:"n"`
	Bare   string `json:"bare"`
	Lookup string `json:"setting"`
}

// bench performs N lookups through the host's brokered connection and N
// unary calls of the same service on a bare gRPC connection to a unix
// socket the benchmark serves, interleaved in batches so that both see the
// same machine load, and records the time per call of each.
func (p *testPlugin) bench(ctx context.Context, raw json.RawMessage) error {
	var c benchCmd
	if err := json.Unmarshal(raw, &c); err != nil {
		return err
	}
	if p.bare == nil {
		conn, err := grpc.NewClient("unix://"+c.Bare, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		p.bare = pluginv1.NewSettingsClient(conn)
	}
	req := &pluginv1.LookupRequest{Setting: c.Lookup}
	var broker, bare time.Duration
	const batch = 10
	for done := 0; done < c.N; done += batch {
		t0 := time.Now()
		for range batch {
			if _, err := p.settings.Lookup(ctx, c.Lookup); err != nil {
				return err
			}
		}
		t1 := time.Now()
		for range batch {
			if _, err := p.bare.Lookup(ctx, req); err != nil {
				return err
			}
		}
		broker += t1.Sub(t0)
		bare += time.Since(t1)
	}
	n := float64((c.N + batch - 1) / batch * batch)
	return p.write(record{What: "bench", BrokerNS: float64(broker.Nanoseconds()) / n, BareNS: float64(bare.Nanoseconds()) / n})
}

func main() {
	if err := plugin.Serve(&testPlugin{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
