package heksher

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/heksher-go/heksher/hekshertest"
)

// A setting declared with a type the service already has otherwise (a 409
// mismatch against the compatible server) is not hidden: strict mode fails
// SetAsMain on it; in every mode Status, Lookup, LookupJSON and the setting
// say it conflicted and why; a later declaration the service accepts clears
// it.
func TestDeclarationConflict_Surfaced(t *testing.T) {
	for _, strict := range []bool{false, true} {
		name := "default"
		if strict {
			name = "strict"
		}
		t.Run(name, func(t *testing.T) {
			freshMain(t)
			srv := realServer(t)
			mustNil(t, srv.Declare(hekshertest.Setting{Name: "cache_size", Type: "int", Default: 50, ConfigurableFeatures: []string{"b"},
				Rules: []hekshertest.Rule{{Conditions: map[string]string{"b": "x"}, Value: 100}}}))
			s := mustSetting(t, "cache_size", Str(), []string{"b"}, "small")
			var opts []Option
			if strict {
				opts = append(opts, WithStrictDeclarations())
			}
			c, lc := newTestClient(t, srv.URL, []string{"a", "b", "c", "z"}, opts...)
			mustNil(t, c.TrackContexts(map[string][]string{"b": {"x"}}))
			err := c.SetAsMain(ctxT(t))
			if strict {
				de, ok := errors.AsType[*DeclarationError](err)
				if !ok || de.Setting != "cache_size" || !errors.Is(err, ErrDeclarationConflict) {
					t.Fatalf("strict SetAsMain = %v, want a *DeclarationError for cache_size matching ErrDeclarationConflict", err)
				}
				if !strings.Contains(err.Error(), "setting type incompatible with values for rules") || strings.Count(err.Error(), "heksher:") != 1 {
					t.Fatalf("strict SetAsMain error %q: want the reason, said once", err)
				}
			} else {
				mustNil(t, err)
			}
			st := c.Status()
			if len(st.Conflicts) != 1 || st.Conflicts[0].Setting != "cache_size" || st.Conflicts[0].Outcome != "mismatch" ||
				!strings.Contains(st.Conflicts[0].Reason, "setting type incompatible with values for rules") {
				t.Fatalf("Status().Conflicts = %+v, want cache_size's type mismatch", st.Conflicts)
			}
			if n := lc.count(slog.LevelError, "^conflict when declaring setting$"); n != 1 {
				t.Fatalf("conflict logged %d times, want once:\n%s", n, lc.dump())
			}
			if ce, ok := errors.AsType[*ConflictError](s.DeclarationConflict()); !ok || ce.Setting != "cache_size" {
				t.Fatalf("DeclarationConflict() = %v", s.DeclarationConflict())
			}
			r, err := s.Lookup(context.Background(), map[string]string{"b": "x"})
			mustNil(t, err)
			if !errors.Is(r.Conflict, ErrDeclarationConflict) || r.Value != "small" {
				t.Fatalf("Lookup = %+v, want the local default with the conflict", r)
			}
			jr, err := s.LookupJSON(context.Background(), map[string]string{"b": "x"})
			mustNil(t, err)
			if !strings.Contains(jr.Conflict, "conflicts with") {
				t.Fatalf("LookupJSON conflict = %q", jr.Conflict)
			}
			jr, err = s.LookupFeaturesJSON(context.Background(), NewFeatures(context.Background(), map[string]string{"b": "x"}))
			mustNil(t, err)
			if !strings.Contains(jr.Conflict, "conflicts with the service's declaration") {
				t.Fatalf("LookupJSON conflict = %q", jr.Conflict)
			}
			if strict {
				return
			}
			// Declared again as the service has it: accepted, the conflict
			// is gone from Status and from the new setting.
			s2 := mustSetting(t, "cache_size", Int(), []string{"b"}, 50, WithClient(c))
			mustNil(t, c.Reload(ctxT(t)))
			if st := c.Status(); len(st.Conflicts) != 0 {
				t.Fatalf("Status().Conflicts = %+v after an accepted declaration", st.Conflicts)
			}
			if r, err := s2.Lookup(context.Background(), map[string]string{"b": "x"}); err != nil || r.Conflict != nil || r.Value != 100 {
				t.Fatalf("Lookup = %+v, %v; want 100 without conflict", r, err)
			}
		})
	}
}
