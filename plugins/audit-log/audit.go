package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/heksher-go/heksher/event"
)

// config is the plugin's configuration.
type config struct {
	// File receives one JSON object per line. Required. Created with mode
	// 0600 if missing; always appended to.
	File string `json:"file"`
	// Sync makes every line durable (fsync) before the event counts as
	// handled. Default false.
	Sync bool `json:"sync"`
}

// Record is one line of the audit log.
type Record struct {
	Time    time.Time `json:"time"`
	Setting string    `json:"setting"`
	// Added, Removed and Changed are rule ids: rules that appeared,
	// disappeared, or kept their id with another value or conditions.
	Added   []int64 `json:"added_rules"`
	Removed []int64 `json:"removed_rules"`
	Changed []int64 `json:"changed_rules"`
	// Initial marks the setting's first values since the host started
	// (or since it was declared): the old rule set was never retrieved,
	// so this records the state found, not a change made on the service.
	Initial bool `json:"initial,omitempty"`
	// DefaultChanged is true when the server default changed.
	DefaultChanged bool          `json:"default_changed"`
	Old            event.RuleSet `json:"old"`
	New            event.RuleSet `json:"new"`
	// Seq is the event's number at the host; Delivery the plugin's own.
	Seq      uint64 `json:"seq"`
	Delivery uint64 `json:"delivery"`
	// Dropped counts events the host dropped from this plugin's queue
	// just before this one: the audit trail has a gap there.
	Dropped uint64 `json:"dropped,omitempty"`
}

// auditLog appends records to a file.
type auditLog struct {
	f    *os.File
	sync bool
}

func openAudit(raw []byte) (*auditLog, error) {
	var c config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("audit-log: config: %w", err)
	}
	if c.File == "" {
		return nil, errors.New(`audit-log: config: "file" is required`)
	}
	f, err := os.OpenFile(c.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit-log: %w", err)
	}
	return &auditLog{f: f, sync: c.Sync}, nil
}

// record builds the line for one change.
func record(e *event.SettingChanged, delivery, dropped uint64) Record {
	r := Record{Time: e.Time, Setting: e.Setting, Old: e.Old, New: e.New, Seq: e.Seq,
		Delivery: delivery, Dropped: dropped, Initial: e.Initial(), Added: []int64{}, Removed: []int64{}, Changed: []int64{}}
	old := map[int64]event.Rule{}
	for _, x := range e.Old.Rules {
		old[x.ID] = x
	}
	seen := map[int64]bool{}
	for _, x := range e.New.Rules {
		seen[x.ID] = true
		prev, ok := old[x.ID]
		switch {
		case !ok:
			r.Added = append(r.Added, x.ID)
		case !bytes.Equal(prev.Value, x.Value) || !slices.Equal(prev.Conditions, x.Conditions):
			r.Changed = append(r.Changed, x.ID)
		}
	}
	for _, x := range e.Old.Rules {
		if !seen[x.ID] {
			r.Removed = append(r.Removed, x.ID)
		}
	}
	r.DefaultChanged = !bytes.Equal(e.Old.Default, e.New.Default)
	return r
}

// write appends r as one line; a single write call keeps lines whole even
// if another process appends to the same file.
func (a *auditLog) write(r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("audit-log: %w", err)
	}
	if _, err := a.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("audit-log: %w", err)
	}
	if a.sync {
		if err := a.f.Sync(); err != nil {
			return fmt.Errorf("audit-log: %w", err)
		}
	}
	return nil
}

func (a *auditLog) close() error { return a.f.Close() }
