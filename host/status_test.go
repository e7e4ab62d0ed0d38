package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/hekshertest"
	"github.com/heksher-go/heksher/host/admin"
	"github.com/heksher-go/heksher/host/config"
)

// The banner's state follows the real updates: "fresh" while they succeed,
// "stale" from the first failed one (the service answering 500, as with its
// database down) although the values still come from the service, "fresh"
// again after a success. Every failure is counted and the last one's text
// is kept after the recovery; repeated 304 polls and repeated identical
// errors each fold into one event record; the history counts the attempts
// and the failures.
func TestSnapshot_StateFollowsTheUpdates(t *testing.T) {
	// Without the watch, as the real service: the host polls every interval.
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"), hekshertest.WithoutWatch())
	cfg := testConfig(t)
	cfg.Service.URL = srv.URL
	h := startHost(t, cfg)
	eventually(t, "fresh, then three 304 polls in one record", func() bool {
		s := h.Snapshot()
		return s.Service.State == admin.StateFresh && len(s.Events) > 0 &&
			s.Events[0].Kind == "update_ok" && s.Events[0].Count >= 3
	})
	s := h.Snapshot()
	if e := s.Events[0]; !strings.Contains(e.Summary, "(304)") || e.LastSeq < e.Seq+2 || !e.LastTime.After(e.Time) {
		t.Errorf("collapsed 304 record %+v", e)
	}
	if s.Service.ConsecutiveFailures != 0 || !s.Service.FailingSince.IsZero() || s.Service.LastSuccess.IsZero() {
		t.Errorf("fresh service status %+v", s.Service)
	}
	if s.History == nil || s.History.Updates.Points == nil {
		t.Fatalf("no update history: %+v", s.History)
	}

	before := time.Now()
	srv.SetDatabaseDown(true)
	eventually(t, "stale after failed updates", func() bool {
		s := h.Snapshot()
		return s.Service.State == admin.StateStale && s.Service.ConsecutiveFailures >= 3 && s.Update.Errors >= 3
	})
	s = h.Snapshot()
	if s.Service.Serving != "service" {
		t.Errorf("serving %q during the failures, want the service's values kept", s.Service.Serving)
	}
	if s.Service.FailingSince.Before(before) || s.Service.FailingSince.After(time.Now()) {
		t.Errorf("failing since %v, want the first failure after %v", s.Service.FailingSince, before)
	}
	if !strings.Contains(s.Service.LastError, "500") {
		t.Errorf("banner's last error %q, want the 500", s.Service.LastError)
	}
	if e := s.Events[0]; e.Kind != "update_error" || e.Count < 2 {
		t.Errorf("newest event %+v, want the repeated update errors in one record", e)
	}
	if _, errs := s.History.Updates.Totals(); errs < 3 {
		t.Errorf("history counts %d failed updates, want at least 3", errs)
	}

	srv.SetDatabaseDown(false)
	eventually(t, "fresh again", func() bool { return h.Snapshot().Service.State == admin.StateFresh })
	s = h.Snapshot()
	if s.Update.Errors < 3 || !strings.Contains(s.Update.LastError, "500") || s.Update.LastErrorAt.IsZero() {
		t.Errorf("after the recovery the update status forgot its errors: %+v", s.Update)
	}
	if !s.Service.FailingSince.IsZero() || s.Service.LastError != "" {
		t.Errorf("after the recovery the banner still fails: %+v", s.Service)
	}
}

// A host restarted while the service is down says it serves the snapshot
// (and, without one, the defaults), with the failures since it started.
func TestSnapshot_StateSnapshotAndDefaults(t *testing.T) {
	srv := hekshertest.NewServer(t, hekshertest.WithContextFeatures("user", "theme"))
	cfg := testConfig(t)
	cfg.Service.URL = srv.URL
	cfg.StartupTimeout = config.Duration(time.Second)
	h := startHost(t, cfg)
	eventually(t, "fresh, and the snapshot saved", func() bool {
		_, err := os.Stat(filepath.Join(cfg.StateDir, "snapshot.json"))
		return h.Snapshot().Service.State == admin.StateFresh && err == nil
	})
	closeHost(t, h)
	srv.Stop()

	h2 := startHost(t, cfg)
	eventually(t, "serving the snapshot after failures", func() bool {
		s := h2.Snapshot().Service
		return s.State == admin.StateSnapshot && s.ConsecutiveFailures >= 1 && !s.FailingSince.IsZero() && s.LastError != ""
	})
	closeHost(t, h2)

	cfg.StateDir = t.TempDir()
	h3 := startHost(t, cfg)
	eventually(t, "serving the defaults after failures", func() bool {
		s := h3.Snapshot().Service
		return s.State == admin.StateDefaults && s.ConsecutiveFailures >= 1 && s.LastError != ""
	})
}
