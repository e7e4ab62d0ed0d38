package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/heksher-go/heksher/event"
)

// config is the plugin's configuration (the `config` of the plugin in the
// host's configuration file).
type config struct {
	// URL receives the alerts by POST. Required; http or https.
	URL string `json:"url"`
	// Failures is the number of consecutive failed updates that raises an
	// alert. Default 3; 0 in the file means the default, and -1 turns this
	// trigger off (use Staleness alone).
	Failures int `json:"failures"`
	// Staleness raises an alert when the last successful update is older
	// than this (a Go duration, e.g. "5m"), however few failures that took.
	// Default "" (off).
	Staleness string `json:"staleness"`
	// Headers are sent with every POST (e.g. an Authorization header).
	Headers map[string]string `json:"headers"`
	// Timeout bounds each POST. Default "5s".
	Timeout string `json:"timeout"`
	// Watch names settings whose changes are posted too ("*" for every
	// setting). Default none. A setting's first values at the host's
	// start (or after it is declared) are no change made on the service
	// and are never posted, so a restart of the host alerts nobody.
	Watch []string `json:"watch"`
}

// Payload is the JSON body the alerter posts. Text is a one-line summary,
// so chat webhooks that read a "text" field show it as it is.
type Payload struct {
	Status              string    `json:"status"` // "alert", "all_clear" or "changed"
	Text                string    `json:"text"`
	ConsecutiveFailures int       `json:"consecutive_failures,omitempty"`
	Error               string    `json:"error,omitempty"`
	LastSuccess         time.Time `json:"last_success,omitzero"`
	StaleFor            string    `json:"stale_for,omitempty"`
	Setting             string    `json:"setting,omitempty"`
	Time                time.Time `json:"time"`
}

// alerter decides when to alert and posts. It is driven by one goroutine
// (the SDK calls handlers one at a time).
type alerter struct {
	url       string
	failures  int
	staleness time.Duration
	headers   map[string]string
	watch     []string
	client    *http.Client

	alerted bool // an alert was sent and no all-clear since
	pending *Payload
}

func newAlerter(raw []byte) (*alerter, error) {
	var c config
	if len(raw) > 0 && string(raw) != "null" {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("webhook-alerter: config: %w", err)
		}
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook-alerter: config: url %q: want an http or https URL", c.URL)
	}
	a := &alerter{url: c.URL, failures: c.Failures, headers: c.Headers, watch: c.Watch}
	if a.failures == 0 {
		a.failures = 3
	}
	if c.Staleness != "" {
		if a.staleness, err = time.ParseDuration(c.Staleness); err != nil || a.staleness <= 0 {
			return nil, fmt.Errorf("webhook-alerter: config: staleness %q: want a positive duration such as \"5m\"", c.Staleness)
		}
	}
	for _, w := range c.Watch {
		if w == "" {
			return nil, errors.New("webhook-alerter: config: watch: an empty setting name")
		}
	}
	if a.failures < 0 && a.staleness == 0 && len(a.watch) == 0 {
		return nil, errors.New("webhook-alerter: config: failures is off and no staleness is set; nothing would ever alert")
	}
	timeout := 5 * time.Second
	if c.Timeout != "" {
		if timeout, err = time.ParseDuration(c.Timeout); err != nil || timeout <= 0 {
			return nil, fmt.Errorf("webhook-alerter: config: timeout %q: want a positive duration", c.Timeout)
		}
	}
	a.client = &http.Client{Timeout: timeout}
	return a, nil
}

// onError handles a failed update: it alerts once per outage, when either
// trigger fires.
func (a *alerter) onError(ctx context.Context, e *event.UpdateError) error {
	if a.alerted {
		return a.flush(ctx)
	}
	stale := e.SinceLastSuccess()
	byCount := a.failures > 0 && e.ConsecutiveFailures >= a.failures
	byAge := a.staleness > 0 && !e.LastSuccess.IsZero() && stale >= a.staleness
	if !byCount && !byAge {
		return a.flush(ctx)
	}
	p := &Payload{Status: "alert", ConsecutiveFailures: e.ConsecutiveFailures, Error: e.Err.Error(),
		LastSuccess: e.LastSuccess, Time: e.Time}
	why := fmt.Sprintf("%d consecutive failures", e.ConsecutiveFailures)
	if !e.LastSuccess.IsZero() {
		p.StaleFor = stale.Round(time.Second).String()
		why += ", values stale for " + p.StaleFor
	}
	p.Text = fmt.Sprintf("Heksher updates are failing (%s): %v", why, e.Err)
	a.alerted, a.pending = true, p
	return a.flush(ctx)
}

// onOK handles a successful update: an all-clear if an alert was sent.
func (a *alerter) onOK(ctx context.Context, e *event.UpdateOK) error {
	if !a.alerted {
		return a.flush(ctx)
	}
	a.alerted = false
	a.pending = &Payload{Status: "all_clear", Text: "Heksher updates succeed again", Time: e.Time}
	return a.flush(ctx)
}

// onChanged posts a change of a watched setting, unless it is a start-up
// change (the first values the host holds for it, not a change made on
// the service).
func (a *alerter) onChanged(ctx context.Context, e *event.SettingChanged) error {
	if e.Initial() {
		return a.flush(ctx)
	}
	a.pending = &Payload{Status: "changed", Setting: e.Setting, Time: e.Time,
		Text: fmt.Sprintf("Heksher setting %s changed: %d rules -> %d", e.Setting, len(e.Old.Rules), len(e.New.Rules))}
	return a.flush(ctx)
}

// flush posts the pending payload, if any. A failed post stays pending and
// is retried with the next event, so an alert is not lost to one bad
// request; a newer payload replaces an older unsent one.
func (a *alerter) flush(ctx context.Context) error {
	if a.pending == nil {
		return nil
	}
	body, err := json.Marshal(a.pending)
	if err != nil {
		return fmt.Errorf("webhook-alerter: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook-alerter: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range a.headers {
		req.Header.Set(k, v)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook-alerter: post %s: %w", a.pending.Status, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook-alerter: post %s: %s answered %s", a.pending.Status, a.url, resp.Status)
	}
	a.pending = nil
	return nil
}
