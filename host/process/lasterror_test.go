package process

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// Every error Status counts comes with its text: a handler that fails and a
// handler that overruns its deadline once (no restart follows either) leave
// their reasons in LastError, not only a count.
func TestStatus_EveryCountedErrorKeepsItsText(t *testing.T) {
	tests := []struct {
		name     string
		cmd      string
		deadline time.Duration
		wantErr  error
		wantText string
	}{
		{name: "handler error", cmd: "cmd.fail", deadline: 5 * time.Second, wantErr: ErrHandler, wantText: "failure requested"},
		{name: "one overrun", cmd: "cmd.block", deadline: 300 * time.Millisecond, wantErr: context.DeadlineExceeded, wantText: "overran its deadline"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _ := testPluginConfig(t, "erring")
			cfg.Deadline = tc.deadline
			cfg.TimeoutStrikes = 3
			p := startPlugin(t, cfg, newMemSettings())
			before := time.Now()
			err := command(context.Background(), p, 1, tc.cmd, nil)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			st := p.Status()
			if st.Errors != 1 || st.Restarts != 0 {
				t.Errorf("Status errors/restarts = %d/%d, want 1/0", st.Errors, st.Restarts)
			}
			if !strings.Contains(st.LastError, tc.wantText) || st.LastError != err.Error() {
				t.Errorf("LastError = %q, want the delivery's error %q", st.LastError, err)
			}
			if st.LastErrorAt.Before(before) {
				t.Errorf("LastErrorAt = %v, before the failed delivery (%v)", st.LastErrorAt, before)
			}
		})
	}
}
