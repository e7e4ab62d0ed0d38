package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// restartBackend is a fakeBackend that can restart plugins.
type restartBackend struct {
	fakeBackend
	mu        sync.Mutex
	restarted []string
}

func (b *restartBackend) RestartPlugin(_ context.Context, name string) error {
	switch name {
	case "alerter":
		b.mu.Lock()
		b.restarted = append(b.restarted, name)
		b.mu.Unlock()
		return nil
	case "broken":
		return errors.New(`host: plugin "broken": restart: init refused`)
	}
	return fmt.Errorf("host: plugin %q: %w", name, ErrUnknownPlugin)
}

// The restart endpoint: POST only, the token required like everywhere,
// 404 naming an unknown plugin, 422 with the reason of a failed restart,
// 501 for a backend that cannot restart.
func TestRestartPluginEndpoint(t *testing.T) {
	b := &restartBackend{}
	s := start(t, b, Options{Token: "s3cret"})
	base := "http://" + s.Addr() + "/api/v1/plugins/"
	cases := []struct {
		method, name, token string
		code                int
		body                string
	}{
		{"POST", "alerter", "", http.StatusUnauthorized, "unauthorized"},
		{"POST", "alerter", "wrong", http.StatusUnauthorized, "unauthorized"},
		{"GET", "alerter", "s3cret", http.StatusMethodNotAllowed, ""},
		{"POST", "alerter", "s3cret", http.StatusOK, `"restarted"`},
		{"POST", "broken", "s3cret", http.StatusUnprocessableEntity, "init refused"},
		{"POST", "nope", "s3cret", http.StatusNotFound, `plugin \"nope\"`},
	}
	for _, c := range cases {
		code, body := get(t, c.method, base+c.name+"/restart", c.token)
		if code != c.code || !strings.Contains(body, c.body) {
			t.Errorf("%s %s with token %q: %d %s, want %d with %q", c.method, c.name, c.token, code, body, c.code, c.body)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.restarted) != 1 {
		t.Errorf("restarted %v, want alerter once", b.restarted)
	}

	plain := start(t, &fakeBackend{}, Options{})
	if code, body := get(t, "POST", "http://"+plain.Addr()+"/api/v1/plugins/x/restart", ""); code != http.StatusNotImplemented {
		t.Errorf("a backend without restarts: %d %s", code, body)
	}
}
