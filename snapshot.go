package heksher

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/atomicfile"
)

// snapshotFile is what WithSnapshotFile stores: the last good query answer.
type snapshotFile struct {
	Version int             `json:"version"`
	Saved   time.Time       `json:"saved"`
	ETag    string          `json:"etag"`
	Answer  json.RawMessage `json:"answer"`
}

// saveSnapshot writes the answer atomically: a temporary file in the same
// directory, fsync, rename, so a crash never leaves a torn file.
func (c *Client) saveSnapshot(body []byte, etag string) error {
	data, err := json.Marshal(snapshotFile{Version: 1, Saved: time.Now().UTC(), ETag: etag, Answer: body})
	if err != nil {
		return err
	}
	return atomicfile.Write(c.cfg.snapshotPath, data)
}

// loadSnapshot applies the saved answer, if there is one, and reports
// whether it did.
func (c *Client) loadSnapshot() (bool, error) {
	data, err := os.ReadFile(c.cfg.snapshotPath)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var s snapshotFile
	if err := json.Unmarshal(data, &s); err != nil {
		return false, &DecodeError{URL: c.cfg.snapshotPath, What: "snapshot", Err: err}
	}
	if s.Version != 1 {
		return false, &DecodeError{URL: c.cfg.snapshotPath, What: "snapshot", Err: fmt.Errorf("unknown version %d", s.Version)}
	}
	res, err := c.applyBody(c.cfg.snapshotPath, s.Answer, s.ETag, true)
	if err != nil {
		return false, err
	}
	// Hooks see the values change from the defaults to the snapshot's.
	for _, ch := range res.changes {
		c.publish(func(h event.Header) event.Event { ch.Header = h; return ch })
	}
	c.mu.Lock()
	c.status.SnapshotSaved = s.Saved
	c.mu.Unlock()
	c.log.Info("heksher: serving the saved snapshot until the service answers", "path", c.cfg.snapshotPath, "saved", s.Saved)
	return true, nil
}

// loadSnapshotOnce applies the snapshot the first time a degraded start
// needs it (from the update loop or from SetAsMain, whichever comes first).
func (c *Client) loadSnapshotOnce() {
	if c.cfg.snapshotPath == "" {
		return
	}
	c.snapshotOnce.Do(func() {
		if _, err := c.loadSnapshot(); err != nil && !errors.Is(err, errSnapshotStale) {
			c.log.Warn("heksher: loading the snapshot failed", "path", c.cfg.snapshotPath, "error", err)
		}
	})
}
