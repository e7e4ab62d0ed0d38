package heksher

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/heksher-go/heksher/event"
)

// A setting deleted on the service (DELETE /api/v1/settings/{name}) makes
// every query naming it fail with 404 "the following are not setting
// names: [...]", so a client that kept naming it would never update any
// setting again. The client instead reads the names that answer lists,
// marks those settings missing on the service (they keep their last values:
// a bad answer loses nothing), leaves them out of its queries and asks
// again at once. A later declaration of the name, Track and
// TrackAllSettings finding it on the service again, or a query naming it
// again once a minute (missingRecheck) that the service answers, brings it
// back.

// missingRecheck is how often the names missing on the service are asked
// about again, in case the service has them again (a deployment declared
// them anew, say): one query naming them, answered 404 while they are still
// missing, and the retry.
const missingRecheck = time.Minute

// notSettingNamesPrefix begins the service's answer to a query naming a
// setting it does not know (API v1 §7).
const notSettingNamesPrefix = "the following are not setting names: "

// MissingSettingsError says that the service answered a query with 404
// because the named settings do not exist there (deleted, say). The client
// keeps their last values, leaves them out of its queries and retries at
// once; a later declaration of a name brings it back. It is the Err of the
// [event.UpdateError] published when settings go missing, and
// [Status].Missing lists the names.
type MissingSettingsError struct {
	// Settings are the names the answer listed, as the client sent them.
	Settings []string
	// Err is the service's answer, an [*HTTPError] with status 404.
	Err error
}

// Error names the settings and what the client does about them.
func (e *MissingSettingsError) Error() string {
	return fmt.Sprintf("heksher: the service does not know the settings %s (deleted?): they keep their last values and are left out of the query until declared again",
		strings.Join(e.Settings, ", "))
}

// Unwrap returns the service's answer.
func (e *MissingSettingsError) Unwrap() error { return e.Err }

// parseNotSettingNames reads the names of the service's answer
// "the following are not setting names: ['a', 'b']", exactly as the
// reference writes it (a Python list of str). Anything else, or an empty
// list, is not that answer.
func parseNotSettingNames(body []byte) ([]string, bool) {
	s, ok := strings.CutPrefix(string(body), notSettingNamesPrefix)
	if !ok || len(s) < len("['x']") || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, false
	}
	var names []string
	for item := range strings.SplitSeq(s[1:len(s)-1], ", ") {
		if len(item) < 3 || item[0] != '\'' || item[len(item)-1] != '\'' {
			return nil, false
		}
		name := item[1 : len(item)-1]
		if strings.ContainsAny(name, `'\ ,[]`) {
			return nil, false
		}
		names = append(names, name)
	}
	return names, true
}

// notSettingNames returns the names a failed query's answer says are not
// settings, when err is that 404 and every name it lists is one the query
// sent (a name it did not send, or a malformed answer, is a plain failure:
// nil).
func notSettingNames(err error, sent []string) []string {
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusNotFound {
		return nil
	}
	names, ok := parseNotSettingNames(he.Body)
	if !ok {
		return nil
	}
	for _, n := range names {
		if _, found := slices.BinarySearch(sent, n); !found {
			return nil
		}
	}
	return names
}

// queryNamesLocked returns the names an update queries, sorted: every
// tracked setting but those missing on the service. c.mu must be held.
func (c *Client) queryNamesLocked() []string {
	names := sortedKeys(c.tracked)
	if len(c.missing) == 0 {
		return names
	}
	return slices.DeleteFunc(names, func(n string) bool {
		_, gone := c.missing[n]
		return gone
	})
}

// markMissing marks names missing on the service, says so once (one WARN
// per setting and one UpdateError event, for the names not marked before)
// and returns the names to query now. Only the update loop calls it.
func (c *Client) markMissing(names []string, answer error) []string {
	c.mu.Lock()
	var fresh []string
	for _, n := range names {
		if _, ok := c.missing[n]; !ok {
			c.missing[n] = struct{}{}
			fresh = append(fresh, n)
		}
	}
	c.missingAt = time.Now()
	failures, lastSuccess := c.status.ConsecutiveFailures+1, c.status.LastSuccess
	query := c.queryNamesLocked()
	c.mu.Unlock()
	if len(fresh) == 0 {
		return query
	}
	for _, n := range fresh {
		c.log.Warn("heksher: the service does not know this setting (deleted?); it keeps its last values and is left out of the query until declared again",
			"setting", n)
	}
	err := &MissingSettingsError{Settings: fresh, Err: answer}
	c.publish(func(h event.Header) event.Event {
		return &event.UpdateError{Header: h, Err: err, ConsecutiveFailures: failures, LastSuccess: lastSuccess}
	})
	return query
}

// rejoinLocked brings a setting missing on the service back into the query
// once it is declared again, or the service lists it again (Track,
// TrackAllSettings). c.mu must be held.
func (c *Client) rejoinLocked(name string) {
	if _, ok := c.missing[name]; !ok {
		return
	}
	delete(c.missing, name)
	c.etag = ""        // the query changes: ask for the whole answer
	c.endWatchLocked() // a watch of the old query would not bring its values
	c.log.Info("heksher: a setting missing on the service is known to it again; it rejoins the query", "setting", name)
}

// recheckMissingLocked reports whether an update should name the settings
// missing on the service again (every missingRecheck), and notes the time.
// c.mu must be held.
func (c *Client) recheckMissingLocked(now time.Time) bool {
	every := c.recheck
	if every <= 0 {
		every = missingRecheck
	}
	if len(c.missing) == 0 || now.Sub(c.missingAt) < every {
		return false
	}
	c.missingAt = now
	return true
}

// answeredMissing brings back the settings missing on the service that a
// successful update named: the service has them again. Only the update
// loop calls it.
func (c *Client) answeredMissing(names []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.missing) == 0 {
		return
	}
	for _, n := range names {
		if _, ok := c.missing[n]; ok {
			delete(c.missing, n) // the answer just applied named it: no new query needed
			c.log.Info("heksher: a setting missing on the service is known to it again; it rejoins the query", "setting", n)
		}
	}
}
