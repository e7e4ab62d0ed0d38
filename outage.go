package heksher

import (
	"context"
	"errors"
	"log/slog"
)

// One failure, one log line: while the service cannot be reached (or fails
// with 5xx), every request fails with the same cause, and logging each one
// (the context-feature check, every declaration, every update retry) would
// bury the cause under copies of it. The first such failure is logged at
// its level; the following ones at DEBUG, with the same texts, until the
// service answers again, which is logged once at INFO. Status and the
// hooks' events still count every failure.

// isOutage reports whether err means that the service could not be reached
// or failed on its side.
func isOutage(err error) bool {
	if _, ok := errors.AsType[*RequestError](err); ok {
		return true
	}
	if he, ok := errors.AsType[*HTTPError](err); ok {
		return he.StatusCode >= 500
	}
	return false
}

// logFailure logs a failed request: at level, unless it is an outage that
// was already reported, then at DEBUG. It must not be called with c.mu held.
func (c *Client) logFailure(level slog.Level, msg string, err error, attrs ...any) {
	if isOutage(err) && !(errors.Is(err, context.Canceled) && c.ctx.Err() != nil) {
		c.mu.Lock()
		already := c.outage
		c.outage = true
		c.mu.Unlock()
		if already {
			level = slog.LevelDebug
		}
	}
	c.log.Log(context.Background(), level, msg, append(attrs, "error", err)...)
}

// serviceAnswered ends a reported outage: the service gave an answer that
// is not a 5xx.
func (c *Client) serviceAnswered() {
	c.mu.Lock()
	was := c.outage
	c.outage = false
	c.mu.Unlock()
	if was {
		c.log.Info("heksher: the service answers again", "url", c.base)
	}
}

// outageReported reports whether an outage was logged and has not ended.
func (c *Client) outageReported() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.outage
}
