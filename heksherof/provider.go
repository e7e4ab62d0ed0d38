package heksherof

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/evaluate"
	"github.com/open-feature/go-sdk/openfeature"
)

// ErrNoValues is the error of Init when the client has never retrieved
// values (from the service or a snapshot).
var ErrNoValues = errors.New("heksherof: the client has not retrieved any values yet")

// Option configures a [Provider].
type Option func(*Provider)

// WithClient makes the provider answer from c's settings and state;
// without it (and without [Provider.UseClient]), the provider uses
// whichever client is main (see heksher.MainClient).
func WithClient(c *heksher.Client) Option { return func(p *Provider) { p.client.Store(c) } }

// WithSettings names settings the provider answers beside its client's
// (for example settings declared in Go and not yet declared by the
// client, or read through a scoped stub in tests). A setting of a name
// the client also has wins over the client's.
func WithSettings(settings ...heksher.AnySetting) Option {
	return func(p *Provider) { p.named = append(p.named, settings...) }
}

// WithTrackedSettings names settings the provider answers read-only:
// settings that nobody declares through this client (another service owns
// them). At Init the provider has its client track each one by name
// (heksher.Client.Track): its type, configurable features and default come
// from the service, its rules arrive with every update, and no declaration
// is sent. A name the client already keeps (declared in Go) is answered as
// declared. A name the service does not know fails Init with an error
// matching heksher.ErrUnknownSetting.
func WithTrackedSettings(names ...string) Option {
	return func(p *Provider) {
		for _, n := range names {
			p.tracks = append(p.tracks, trackSpec{name: n})
		}
	}
}

// WithTrackedSettingType is [WithTrackedSettings] for one setting whose
// values are converted to the type string typ (see heksher.ParseType)
// instead of the service's type.
func WithTrackedSettingType(name, typ string) Option {
	return func(p *Provider) { p.tracks = append(p.tracks, trackSpec{name: name, typ: typ}) }
}

// WithAllServiceSettings makes the provider answer every setting the
// service lists, read-only (heksher.Client.TrackAllSettings), beside those
// declared in Go: at Init its client tracks them with the service's types.
// Settings created on the service later are not picked up; a setting the
// client cannot take (a type it cannot parse) is left out with a warning.
func WithAllServiceSettings() Option { return func(p *Provider) { p.all = true } }

// WithTargetingFeature makes the evaluation context's targeting key the
// value of the context feature name; without it the targeting key is
// ignored.
func WithTargetingFeature(name string) Option {
	return func(p *Provider) { p.ctxOpts.TargetingFeature = name }
}

// WithStrictContext refuses (INVALID_CONTEXT) evaluation-context
// attributes that the evaluated setting is not configurable by; by
// default they are ignored.
func WithStrictContext() Option { return func(p *Provider) { p.ctxOpts.RefuseUnknown = true } }

// WithLogger sets the logger of the provider's own rare messages
// (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(p *Provider) { p.log = l } }

// Provider is an OpenFeature provider (openfeature.FeatureProvider,
// StateHandler and EventHandler) backed by Heksher settings; it is also a
// heksher.Hook, to give to heksher.WithHooks. Safe for concurrent use.
type Provider struct {
	client  atomic.Pointer[heksher.Client]
	named   []heksher.AnySetting
	tracks  []trackSpec // tracked by name at Init
	all     bool        // track every setting of the service at Init
	ctxOpts evaluate.ContextOptions
	log     *slog.Logger

	flags   atomic.Pointer[map[string]*flag]
	rebuild sync.Mutex

	events chan openfeature.Event
	done   chan struct{}
	close  sync.Once
	state  atomic.Int32 // one of the state* constants

	lastMiss atomic.Int64 // when a miss last rebuilt the table (UnixNano)
	inited   atomic.Bool  // Init ran: the go-sdk reads the events
}

// trackSpec is one setting named with WithTrackedSettings or
// WithTrackedSettingType; typ "" takes the service's type.
type trackSpec struct{ name, typ string }

// missRefresh bounds how often an unknown key rebuilds the flag table.
const missRefresh = time.Second

const (
	stateNone int32 = iota
	stateReady
	stateStale
	stateError
)

// flag is one setting as the provider evaluates it; its typed field
// matching the setting's Go type is set, for evaluation without JSON.
type flag struct {
	s        heksher.AnySetting
	class    evaluate.Class
	features []string
	details  evaluate.Details
	b        *heksher.Setting[bool]
	i        *heksher.Setting[int64]
	f        *heksher.Setting[float64]
	str      *heksher.Setting[string]
}

// New returns a provider; see the package documentation.
func New(opts ...Option) *Provider {
	p := &Provider{events: make(chan openfeature.Event, 16), done: make(chan struct{})}
	for _, o := range opts {
		o(p)
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.refresh()
	return p
}

// UseClient is [WithClient] after New: a client created with the provider
// among its hooks (heksher.WithHooks) exists only after the provider. Call
// it before giving the provider to the go-sdk.
//
//	p := heksherof.New()
//	c, err := heksher.NewClient(url, time.Minute, features, heksher.WithHooks(p))
//	…
//	p.UseClient(c)
func (p *Provider) UseClient(c *heksher.Client) {
	p.client.Store(c)
	p.refresh()
}

// Metadata names the provider "heksher".
func (p *Provider) Metadata() openfeature.Metadata { return openfeature.Metadata{Name: "heksher"} }

// Hooks returns no provider hooks.
func (p *Provider) Hooks() []openfeature.Hook { return nil }

// EventChannel returns the channel of the provider's events.
func (p *Provider) EventChannel() <-chan openfeature.Event { return p.events }

func (p *Provider) currentClient() *heksher.Client {
	if c := p.client.Load(); c != nil {
		return c
	}
	return heksher.MainClient()
}

// Init reports whether values are served: nil once the client serves
// values from the service or a snapshot (or when there is no client);
// an error matching [ErrNoValues] when the client never retrieved any.
// It first has the client track the settings named with
// [WithTrackedSettings], [WithTrackedSettingType] and
// [WithAllServiceSettings] (each request bounded by the client's request
// timeout), and fails with their errors (for example one matching
// heksher.ErrUnknownSetting), or [ErrNoClient] when there is no client to
// track them with.
func (p *Provider) Init(openfeature.EvaluationContext) error {
	p.inited.Store(true)
	c := p.currentClient()
	if err := p.trackNamed(c); err != nil {
		p.refresh()
		p.state.Store(stateError)
		return err
	}
	p.refresh()
	if c == nil {
		p.state.Store(stateReady)
		return nil
	}
	st := c.Status()
	if st.Origin == heksher.OriginDefaults {
		p.state.Store(stateError)
		return ErrNoValues
	}
	if st.ConsecutiveFailures > 0 {
		p.state.Store(stateStale)
		p.emit(context.Background(), openfeature.ProviderStale, "heksher: updates fail; serving the values held", nil)
		return nil
	}
	p.state.Store(stateReady)
	return nil
}

// ErrNoClient is the error of Init when settings are to be tracked by name
// and the provider has no client (none given and none main).
var ErrNoClient = errors.New("heksherof: no client to track settings with")

// trackNamed has c track the settings named in the options.
func (p *Provider) trackNamed(c *heksher.Client) error {
	if len(p.tracks) == 0 && !p.all {
		return nil
	}
	if c == nil {
		return ErrNoClient
	}
	var errs []error
	if p.all {
		// A setting the client cannot take (a type it cannot parse) is
		// left out with a warning; a service that cannot be asked fails.
		if all, err := c.TrackAllSettings(context.Background()); err != nil && all == nil {
			errs = append(errs, err)
		} else if err != nil {
			p.log.Warn("heksherof: some settings of the service are not answered", "error", err)
		}
	}
	for _, t := range p.tracks {
		if _, err := c.Track(context.Background(), t.name, t.typ); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("heksherof: tracking settings by name: %w", errors.Join(errs...))
	}
	return nil
}

// Shutdown stops the provider's events; evaluations keep working.
func (p *Provider) Shutdown() { p.close.Do(func() { close(p.done) }) }

// emit sends an event, giving up when ctx ends or the provider shuts down.
// Before Init nobody reads the events: they are dropped.
func (p *Provider) emit(ctx context.Context, t openfeature.EventType, msg string, changed []string) {
	if !p.inited.Load() {
		return
	}
	e := openfeature.Event{ProviderName: "heksher", EventType: t,
		ProviderEventDetails: openfeature.ProviderEventDetails{Message: msg, FlagChanges: changed}}
	select {
	case p.events <- e:
	case <-ctx.Done():
		p.log.Warn("heksherof: an OpenFeature event was dropped: nobody reads the provider's events", "event", t)
	case <-p.done:
	}
}

// OnUpdateOK implements heksher.Hook: PROVIDER_CONFIGURATION_CHANGED for
// changed settings, PROVIDER_READY after stale or error.
func (p *Provider) OnUpdateOK(ctx context.Context, e *event.UpdateOK) {
	if len(e.Changed) > 0 {
		if m := p.flags.Load(); m != nil {
			for _, name := range e.Changed {
				if f := (*m)[name]; f != nil {
					f.details.Reset()
				}
			}
		}
		p.emit(ctx, openfeature.ProviderConfigChange, "heksher: settings changed", e.Changed)
	}
	if old := p.state.Swap(stateReady); old == stateStale || old == stateError {
		p.emit(ctx, openfeature.ProviderReady, "heksher: update succeeded", nil)
	}
}

// OnUpdateError implements heksher.Hook: PROVIDER_STALE while values
// retrieved before are held, PROVIDER_ERROR when none ever were.
func (p *Provider) OnUpdateError(ctx context.Context, e *event.UpdateError) {
	next, t, msg := stateStale, openfeature.ProviderStale, "heksher: update failed; serving the values held: "+e.Err.Error()
	if c := p.currentClient(); c != nil && c.Status().Origin == heksher.OriginDefaults {
		next, t, msg = stateError, openfeature.ProviderError, "heksher: update failed and no values were ever retrieved: "+e.Err.Error()
	}
	if p.state.Swap(next) != next {
		p.emit(ctx, t, msg, nil)
	}
}

// OnDeclared implements heksher.Hook: a newly tracked setting becomes a
// flag.
func (p *Provider) OnDeclared(context.Context, *event.Declared) { p.refresh() }

// OnSettingChanged implements heksher.Hook (the changes are reported with
// the update, by OnUpdateOK).
func (p *Provider) OnSettingChanged(context.Context, *event.SettingChanged) {}

// OnClosing implements heksher.Hook.
func (p *Provider) OnClosing(context.Context, *event.Closing) {}

// refresh rebuilds the flag table from the client's settings and the
// named ones, keeping the entries of settings already known.
func (p *Provider) refresh() {
	p.rebuild.Lock()
	defer p.rebuild.Unlock()
	old := p.flags.Load()
	next := make(map[string]*flag)
	add := func(s heksher.AnySetting) {
		if old != nil {
			if f := (*old)[s.Name()]; f != nil && f.s == s {
				next[s.Name()] = f
				return
			}
		}
		f := &flag{s: s, class: evaluate.ClassOf(s.TypeString()), features: s.Features()}
		switch t := s.(type) {
		case *heksher.Setting[bool]:
			f.b = t
		case *heksher.Setting[int64]:
			f.i = t
		case *heksher.Setting[float64]:
			f.f = t
		case *heksher.Setting[string]:
			f.str = t
		}
		next[s.Name()] = f
	}
	if c := p.currentClient(); c != nil {
		for _, s := range c.Settings() {
			add(s)
		}
	}
	for _, s := range p.named {
		add(s)
	}
	p.flags.Store(&next)
}

// lookup returns the flag of key, refreshing the table once on a miss.
func (p *Provider) lookup(key string) (*flag, *evaluate.Error) {
	if m := p.flags.Load(); m != nil {
		if f := (*m)[key]; f != nil {
			return f, nil
		}
	}
	// A miss rebuilds the table at most once per missRefresh: settings
	// declared later arrive through OnDeclared, and a caller asking for
	// unknown keys in a loop must not make every call rebuild it.
	if now := time.Now().UnixNano(); now-p.lastMiss.Load() >= int64(missRefresh) {
		p.lastMiss.Store(now)
		p.refresh()
		if f := (*p.flags.Load())[key]; f != nil {
			return f, nil
		}
	}
	return nil, evaluate.Errorf(evaluate.FlagNotFound, "no setting named %q: declare it, or name it with heksherof.WithSettings or heksherof.WithTrackedSettings", key)
}
