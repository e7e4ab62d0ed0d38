// Command process-alerter is a process plugin that raises an alert when the
// host's updates from Heksher keep failing, and an all-clear when they
// succeed again.
//
// After Threshold consecutive failed updates it appends one ALERT line to
// File and, when Webhook is set, POSTs the same text as JSON to it (loopback
// addresses only: an alerter should not become a way out of the host). When
// an update succeeds after an alert it appends an ALL-CLEAR line and posts it
// too. Configure it in the host config:
//
//	plugins:
//	  - name: alerter
//	    process:
//	      path: examples/process-alerter/bin/process-alerter
//	      config: {"file": "/var/log/heksher-alerts.log", "threshold": 3}
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/pluginapi"
	"github.com/heksher-go/heksher/sdk/plugin"
)

// config is the plugin's configuration.
type config struct {
	// File receives one line per alert and all-clear. Required.
	File string `json:"file"`
	// Threshold is the number of consecutive failures that raises an
	// alert. Default 3.
	Threshold int `json:"threshold"`
	// Webhook, when set, receives each line as {"text": …} by POST. It
	// must be a loopback http URL.
	Webhook string `json:"webhook"`
}

type alerter struct {
	plugin.Base
	cfg     config
	log     *slog.Logger
	client  *http.Client
	alerted bool
}

func (a *alerter) Init(_ context.Context, req plugin.InitRequest) (pluginapi.Manifest, error) {
	if err := json.Unmarshal(req.Config, &a.cfg); err != nil {
		return pluginapi.Manifest{}, fmt.Errorf("alerter: config: %w", err)
	}
	if a.cfg.File == "" {
		return pluginapi.Manifest{}, errors.New(`alerter: config: "file" is required`)
	}
	if a.cfg.Threshold <= 0 {
		a.cfg.Threshold = 3
	}
	if a.cfg.Webhook != "" {
		if err := checkLoopback(a.cfg.Webhook); err != nil {
			return pluginapi.Manifest{}, err
		}
	}
	a.log = req.Logger
	a.client = &http.Client{Timeout: 2 * time.Second}
	return pluginapi.Manifest{Subscriptions: event.SetOf(event.KindUpdateOK, event.KindUpdateError)}, nil
}

func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" {
		return fmt.Errorf("alerter: config: webhook %q is not an http URL", raw)
	}
	ip := net.ParseIP(u.Hostname())
	if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("alerter: config: webhook %q is not on loopback", raw)
	}
	return nil
}

func (a *alerter) OnUpdateError(ctx context.Context, _ plugin.Delivery, e *event.UpdateError) error {
	if a.alerted || e.ConsecutiveFailures < a.cfg.Threshold {
		return nil
	}
	text := fmt.Sprintf("ALERT: %d consecutive Heksher update failures; last: %v", e.ConsecutiveFailures, e.Err)
	if since := e.SinceLastSuccess(); since > 0 {
		text += fmt.Sprintf("; last success %s ago", since.Round(time.Millisecond))
	}
	if err := a.emit(ctx, text); err != nil {
		return err
	}
	a.alerted = true
	return nil
}

func (a *alerter) OnUpdateOK(ctx context.Context, _ plugin.Delivery, _ *event.UpdateOK) error {
	if !a.alerted {
		return nil
	}
	if err := a.emit(ctx, "ALL-CLEAR: Heksher updates succeed again"); err != nil {
		return err
	}
	a.alerted = false
	return nil
}

// emit appends text to the file and posts it to the webhook.
func (a *alerter) emit(ctx context.Context, text string) error {
	f, err := os.OpenFile(a.cfg.File, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("alerter: %w", err)
	}
	_, err = fmt.Fprintf(f, "%s %s\n", time.Now().UTC().Format(time.RFC3339), text)
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("alerter: %w", err)
	}
	a.log.Warn(text)
	if a.cfg.Webhook == "" {
		return nil
	}
	body, _ := json.Marshal(map[string]string{"text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.Webhook, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("alerter: webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("alerter: webhook: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("alerter: webhook answered %s", resp.Status)
	}
	return nil
}

func main() {
	if err := plugin.Serve(&alerter{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
