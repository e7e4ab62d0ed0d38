package host

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/host/admin"
)

// recorder is the host's own subscriber: it keeps the last update's result,
// each setting's declaration outcome and the latest events for the status
// page, and feeds the update metrics. It runs behind its own dispatcher queue
// like any plugin, so it never slows the update loop.
type recorder struct {
	metrics *admin.Metrics
	max     int

	mu           sync.Mutex
	update       admin.UpdateStatus
	failingSince time.Time // the first failed attempt after the last success
	outcomes     map[string]string
	events       []admin.EventRecord // ring, newest last
	lastKey      string              // what the newest record collapses; "" for none
}

func newRecorder(m *admin.Metrics, max int) *recorder {
	if max <= 0 {
		max = 50
	}
	return &recorder{metrics: m, max: max, outcomes: map[string]string{}}
}

// Deliver records one event.
func (r *recorder) Deliver(_ context.Context, d event.Delivery) error {
	e := d.Event
	h := e.Head()
	r.mu.Lock()
	defer r.mu.Unlock()
	switch x := e.(type) {
	case *event.UpdateOK:
		r.update.Time, r.update.ETag, r.update.Error = h.Time, x.ETag, ""
		r.update.Result = "ok"
		r.update.Attempts++
		if x.NotModified {
			r.update.Result = "not_modified"
			r.update.NotModified++
		}
		r.failingSince = time.Time{}
		r.update.ConsecutiveFailures = 0
		r.update.LastSuccess = h.Time
		r.update.Duration = x.Duration
		if r.metrics != nil {
			r.metrics.ObserveUpdate(true, x.NotModified, x.Duration)
		}
	case *event.UpdateError:
		r.update.Time, r.update.Result, r.update.Error = h.Time, "error", x.Err.Error()
		r.update.Attempts++
		r.update.Errors++
		r.update.LastError, r.update.LastErrorAt = r.update.Error, h.Time
		if r.failingSince.IsZero() {
			// The first failure of this run, or the first seen when the
			// queue dropped the earlier ones.
			r.failingSince = h.Time
		}
		r.update.ConsecutiveFailures = x.ConsecutiveFailures
		r.update.LastSuccess = x.LastSuccess
		r.update.Duration = x.Duration
		if r.metrics != nil {
			r.metrics.ObserveUpdate(false, false, x.Duration)
		}
	case *event.Declared:
		out := x.Outcome
		if x.Err != nil {
			out = "failed: " + x.Err.Error()
		}
		r.outcomes[x.Setting] = out
	}
	rec := admin.EventRecord{Seq: h.Seq, Time: h.Time, Kind: e.Kind().String(), Summary: summarize(e)}
	if d.Dropped > 0 {
		rec.Summary += fmt.Sprintf(" (%d earlier events dropped)", d.Dropped)
	}
	key := collapseKey(e)
	if key != "" && key == r.lastKey && d.Dropped == 0 && len(r.events) > 0 {
		// The same as the newest record: count it there instead of
		// pushing the rest of the list out.
		last := &r.events[len(r.events)-1]
		last.Count = max(last.Count, 1) + 1
		last.LastSeq, last.LastTime, last.Summary = h.Seq, h.Time, rec.Summary
		return nil
	}
	r.lastKey = key
	r.events = append(r.events, rec)
	if len(r.events) > r.max {
		r.events = append(r.events[:0], r.events[len(r.events)-r.max:]...)
	}
	return nil
}

func (r *recorder) lastUpdate() admin.UpdateStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.update
}

// failing returns when the current run of failed updates began (zero when
// the latest update seen succeeded).
func (r *recorder) failing() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failingSince
}

// collapseKey says which repeats of e fold into one record: 304 polls, and
// update errors with the same text. "" for events always listed alone.
func collapseKey(e event.Event) string {
	switch x := e.(type) {
	case *event.UpdateOK:
		if x.NotModified {
			return "update_ok/304"
		}
	case *event.UpdateError:
		return "update_error/" + x.Err.Error()
	}
	return ""
}

func (r *recorder) outcome(setting string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.outcomes[setting]
}

// recent returns the latest events, newest first.
func (r *recorder) recent() []admin.EventRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]admin.EventRecord, len(r.events))
	for i, e := range r.events {
		out[len(out)-1-i] = e
	}
	return out
}

// summarize describes an event in one line for the status page.
func summarize(e event.Event) string {
	switch x := e.(type) {
	case *event.Declared:
		if x.Err != nil {
			return fmt.Sprintf("%s v%s: failed: %v", x.Setting, x.Version, x.Err)
		}
		return fmt.Sprintf("%s v%s: %s", x.Setting, x.Version, x.Outcome)
	case *event.UpdateOK:
		if x.NotModified {
			return fmt.Sprintf("not modified (304) in %s", x.Duration.Round(time.Microsecond))
		}
		s := fmt.Sprintf("ETag %s in %s", x.ETag, x.Duration.Round(time.Microsecond))
		if len(x.Changed) > 0 {
			s += "; changed: " + strings.Join(x.Changed, ", ")
		}
		if len(x.Rejected) > 0 {
			s += fmt.Sprintf("; %d values rejected", len(x.Rejected))
		}
		return s
	case *event.UpdateError:
		return fmt.Sprintf("%v (%d consecutive failures)", x.Err, x.ConsecutiveFailures)
	case *event.SettingChanged:
		return fmt.Sprintf("%s: %d → %d rules", x.Setting, len(x.Old.Rules), len(x.New.Rules))
	case *event.Closing:
		return "client closing"
	}
	return ""
}
