package heksher_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher"
	"github.com/heksher-go/heksher/hekshertest"
)

// trackWorld is a compatible server owning settings that nobody declares
// through the client, and a running client (never main) bound to it.
func trackWorld(t *testing.T) (*hekshertest.Server, *heksher.Client) {
	t.Helper()
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"),
		hekshertest.WithSettings(
			hekshertest.Setting{Name: "limit", Type: "int", Default: 5, ConfigurableFeatures: []string{"user"}, Version: "2.1",
				Rules: []hekshertest.Rule{{Conditions: map[string]string{"user": "alice"}, Value: 9}}},
			hekshertest.Setting{Name: "colour", Type: `Enum["red","blue"]`, Default: "red", ConfigurableFeatures: []string{"theme"}, Version: "1.0",
				Rules: []hekshertest.Rule{{Conditions: map[string]string{"theme": "dark"}, Value: "blue"}}},
		))
	c, err := heksher.NewClient(srv.URL, time.Hour, []string{"user", "theme"}, heksher.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.TrackContexts(map[string][]string{"user": {heksher.TrackAll}, "theme": {heksher.TrackAll}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func lookupJSON(t *testing.T, s heksher.AnySetting, explicit map[string]string) heksher.JSONResolution {
	t.Helper()
	r, err := s.LookupJSON(context.Background(), explicit)
	if err != nil {
		t.Fatalf("%s: LookupJSON(%v): %v", s.Name(), explicit, err)
	}
	return r
}

// noDeclaration fails if the client ever sent a declaration.
func noDeclaration(t *testing.T, srv *hekshertest.Server) {
	t.Helper()
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, "/settings/declare") || r.Method == http.MethodPut || r.Method == http.MethodPost {
			t.Fatalf("the client sent %s %s (body %s): tracking must not declare or change anything", r.Method, r.Path, r.Body)
		}
	}
}

// A setting tracked by name gets its type, features, default and rules
// from the service, resolves, and is never declared.
func TestTrackReadOnlyFromTheService(t *testing.T) {
	t.Parallel()
	srv, c := trackWorld(t)
	s, err := c.Track(t.Context(), "limit", "")
	if err != nil {
		t.Fatal(err)
	}
	if s.TypeString() != "int" || !slices.Equal(s.Features(), []string{"user"}) || string(s.DefaultJSON()) != "5" || s.Version() != "2.1" {
		t.Fatalf("tracked setting = type %q features %v default %s version %s; want the service's int [user] 5 2.1",
			s.TypeString(), s.Features(), s.DefaultJSON(), s.Version())
	}
	if !slices.Contains(c.Tracked(), "limit") {
		t.Fatalf("Tracked() = %v, want limit among them", c.Tracked())
	}
	if err := c.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := lookupJSON(t, s, map[string]string{"user": "alice"}); string(r.Value) != "9" || r.Source != heksher.SourceRule {
		t.Fatalf("alice: %s from %v, want 9 from a rule", r.Value, r.Source)
	}
	if r := lookupJSON(t, s, map[string]string{"user": "bob"}); string(r.Value) != "5" || r.Source != heksher.SourceServerDefault {
		t.Fatalf("bob: %s from %v, want 5 from the server default", r.Value, r.Source)
	}
	// A rule added later arrives with the next update.
	if _, err := srv.AddRule("limit", map[string]string{"user": "bob"}, 11); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := lookupJSON(t, s, map[string]string{"user": "bob"}); string(r.Value) != "11" {
		t.Fatalf("bob after a new rule: %s, want 11", r.Value)
	}
	// Tracking again returns the same setting without asking the service.
	srv.ResetRequests()
	again, err := c.Track(t.Context(), "limit", "")
	if err != nil || again != s {
		t.Fatalf("Track again = %v, %v; want the same setting", again, err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("Track of a tracked setting sent %d requests, want 0", n)
	}
	noDeclaration(t, srv)
}

// A type given by the caller converts the service's values; a type the
// service's default does not fit is refused.
func TestTrackWithTheCallersType(t *testing.T) {
	t.Parallel()
	srv, c := trackWorld(t)
	s, err := c.Track(t.Context(), "limit", "float")
	if err != nil {
		t.Fatal(err)
	}
	if s.TypeString() != "float" {
		t.Fatalf("type %q, want float", s.TypeString())
	}
	if err := c.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	var v float64
	if r := lookupJSON(t, s, map[string]string{"user": "alice"}); json.Unmarshal(r.Value, &v) != nil || v != 9 {
		t.Fatalf("alice: %s, want 9 as a float", r.Value)
	}
	if _, err := c.Track(t.Context(), "colour", "int"); !errors.Is(err, heksher.ErrInvalidSetting) {
		t.Fatalf("Track(colour as int) = %v, want ErrInvalidSetting (its default is a string)", err)
	}
	if slices.Contains(c.Tracked(), "colour") {
		t.Fatal("a refused setting is tracked")
	}
	noDeclaration(t, srv)
}

// An unknown name is a clear error, and nothing is tracked.
func TestTrackUnknownSetting(t *testing.T) {
	t.Parallel()
	srv, c := trackWorld(t)
	_, err := c.Track(t.Context(), "no_such", "")
	var he *heksher.HTTPError
	if !errors.Is(err, heksher.ErrUnknownSetting) || !errors.As(err, &he) || he.StatusCode != http.StatusNotFound {
		t.Fatalf("Track(no_such) = %v, want ErrUnknownSetting wrapping a 404", err)
	}
	if !strings.Contains(err.Error(), `"no_such"`) {
		t.Fatalf("error %q does not name the setting", err)
	}
	if slices.Contains(c.Tracked(), "no_such") {
		t.Fatal("an unknown setting is tracked")
	}
	// A name that is not a path segment is escaped, not sent as a path.
	if _, err := c.Track(t.Context(), "../context_features", ""); !errors.Is(err, heksher.ErrUnknownSetting) {
		t.Fatalf("Track(../context_features) = %v, want ErrUnknownSetting", err)
	}
	noDeclaration(t, srv)
}

// TrackAllSettings tracks every setting of the service, keeping the ones
// the client declared.
func TestTrackAllSettings(t *testing.T) {
	t.Parallel()
	srv, c := trackWorld(t)
	mine, err := heksher.NewSetting("mine", heksher.Int(), []string{"user"}, int64(1), heksher.WithClient(c))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.ResetRequests()
	all, err := c.TrackAllSettings(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range all {
		names = append(names, s.Name())
		if s.Name() == "mine" && s != heksher.AnySetting(mine) {
			t.Fatal("the declared setting was replaced")
		}
	}
	if !slices.Equal(names, []string{"colour", "limit", "mine"}) {
		t.Fatalf("settings %v, want colour, limit, mine", names)
	}
	if err := c.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	colour := all[0]
	if r := lookupJSON(t, colour, map[string]string{"theme": "dark"}); string(r.Value) != `"blue"` {
		t.Fatalf("colour for dark: %s, want \"blue\"", r.Value)
	}
	noDeclaration(t, srv)
}
