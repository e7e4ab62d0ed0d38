package admin

import (
	"sort"
	"sync"
	"time"
)

// Default shape of a [History]: one bucket a minute for the last hour.
const (
	DefaultHistoryBucket  = time.Minute
	DefaultHistoryBuckets = 60
)

// History keeps, for the status page's charts, per-bucket aggregates of the
// update attempts and of each plugin's deliveries: how many, how many
// failed, their mean and largest duration. Each series is a fixed ring of
// buckets, so memory is bounded by the number of plugins, and recording
// takes one short, uncontended lock per series; nothing on the lookup path
// records here. Safe for concurrent use; must not be copied.
type History struct {
	width time.Duration
	n     int

	updates *series
	plugins sync.Map // plugin name → *series
}

// NewHistory returns a history of n buckets of width each (defaults
// [DefaultHistoryBuckets] of [DefaultHistoryBucket] when zero or less).
func NewHistory(width time.Duration, n int) *History {
	if width <= 0 {
		width = DefaultHistoryBucket
	}
	if n <= 0 {
		n = DefaultHistoryBuckets
	}
	return &History{width: width, n: n, updates: newSeries(n)}
}

// ObserveUpdate records one update attempt that ended at t and took d.
func (h *History) ObserveUpdate(t time.Time, d time.Duration, failed, notModified bool) {
	h.updates.add(h.index(t), d, failed, notModified)
}

// ObserveDelivery records one delivery to plugin that ended at t and took d.
func (h *History) ObserveDelivery(plugin string, t time.Time, d time.Duration, failed bool) {
	s, ok := h.plugins.Load(plugin)
	if !ok {
		s, _ = h.plugins.LoadOrStore(plugin, newSeries(h.n))
	}
	s.(*series).add(h.index(t), d, failed, false)
}

// Forget drops the series of a plugin that was removed.
func (h *History) Forget(plugin string) { h.plugins.Delete(plugin) }

func (h *History) index(t time.Time) int64 { return t.UnixNano() / int64(h.width) }

// Snapshot returns the buckets of the window that ends with now's bucket.
func (h *History) Snapshot(now time.Time) *HistorySnapshot {
	last := h.index(now)
	first := last - int64(h.n) + 1
	hs := &HistorySnapshot{
		Bucket: h.width, Buckets: h.n,
		From: time.Unix(0, first*int64(h.width)).UTC(), To: time.Unix(0, (last+1)*int64(h.width)).UTC(),
		Updates: h.updates.snapshot("updates", first, last, h.width),
	}
	h.plugins.Range(func(k, v any) bool {
		hs.Plugins = append(hs.Plugins, v.(*series).snapshot(k.(string), first, last, h.width))
		return true
	})
	sort.Slice(hs.Plugins, func(i, j int) bool { return hs.Plugins[i].Name < hs.Plugins[j].Name })
	return hs
}

// HistorySnapshot is a [History] at one moment: the window [From, To) cut
// into Buckets buckets of Bucket each. Each series lists only its buckets
// that saw something, oldest first.
type HistorySnapshot struct {
	Bucket  time.Duration `json:"bucket_ns"`
	Buckets int           `json:"buckets"`
	From    time.Time     `json:"from"`
	To      time.Time     `json:"to"`
	Updates Series        `json:"updates"`
	Plugins []Series      `json:"plugins,omitempty"`
}

// Plugin returns the series of the named plugin, and whether there is one.
func (hs *HistorySnapshot) Plugin(name string) (Series, bool) {
	for _, s := range hs.Plugins {
		if s.Name == name {
			return s, true
		}
	}
	return Series{}, false
}

// Series is one series of a [HistorySnapshot]: "updates", or a plugin's
// deliveries under the plugin's name.
type Series struct {
	Name   string   `json:"name"`
	Points []Bucket `json:"points"`
}

// Totals returns the count and errors summed over the window.
func (s Series) Totals() (count, errors uint64) {
	for _, b := range s.Points {
		count += b.Count
		errors += b.Errors
	}
	return count, errors
}

// Bucket is one bucket's aggregate: Count attempts (or deliveries) that
// ended in [Start, Start+bucket), of which Errors failed and NotModified
// were answered 304; Mean and Max are their durations.
type Bucket struct {
	Start       time.Time     `json:"start"`
	Count       uint64        `json:"count"`
	Errors      uint64        `json:"errors"`
	NotModified uint64        `json:"not_modified,omitempty"`
	Mean        time.Duration `json:"mean_ns"`
	Max         time.Duration `json:"max_ns"`
}

// series is a ring of buckets indexed by bucket number modulo its length.
type series struct {
	mu      sync.Mutex
	buckets []bucket
}

type bucket struct {
	idx                  int64 // bucket number: time / width
	n, errs, notModified uint64
	sum, max             time.Duration
}

func newSeries(n int) *series { return &series{buckets: make([]bucket, n)} }

func (s *series) add(idx int64, d time.Duration, failed, notModified bool) {
	slot := int(idx % int64(len(s.buckets)))
	if slot < 0 {
		slot += len(s.buckets)
	}
	s.mu.Lock()
	b := &s.buckets[slot]
	if b.idx != idx {
		if idx < b.idx {
			// Older than the bucket's current tenant: outside the window.
			s.mu.Unlock()
			return
		}
		*b = bucket{idx: idx}
	}
	b.n++
	if failed {
		b.errs++
	}
	if notModified {
		b.notModified++
	}
	b.sum += d
	b.max = max(b.max, d)
	s.mu.Unlock()
}

func (s *series) snapshot(name string, first, last int64, width time.Duration) Series {
	out := Series{Name: name}
	s.mu.Lock()
	defer s.mu.Unlock()
	for idx := first; idx <= last; idx++ {
		slot := int(idx % int64(len(s.buckets)))
		if slot < 0 {
			slot += len(s.buckets)
		}
		b := s.buckets[slot]
		if b.idx != idx || b.n == 0 {
			continue
		}
		out.Points = append(out.Points, Bucket{
			Start: time.Unix(0, idx*int64(width)).UTC(), Count: b.n, Errors: b.errs, NotModified: b.notModified,
			Mean: b.sum / time.Duration(b.n), Max: b.max,
		})
	}
	return out
}
