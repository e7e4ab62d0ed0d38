package config

import (
	"errors"
	"strings"
	"testing"
)

func TestServiceWatch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		yaml    string
		want    bool
		wantErr string
	}{
		{name: "default", yaml: "service:\n  url: http://127.0.0.1:1\n", want: true},
		{name: "null", yaml: "service:\n  watch:\n", want: true},
		{name: "true", yaml: "service:\n  watch: true\n", want: true},
		{name: "false", yaml: "service:\n  watch: false\n", want: false},
		{name: "word", yaml: "service:\n  watch: off\n", wantErr: `config: host.yaml:2:10: service.watch: want true or false, got "off"`},
		{name: "list", yaml: "service:\n  watch: [true]\n", wantErr: "config: host.yaml:2:10: service.watch:"},
		{name: "misspelt", yaml: "service:\n  wacth: false\n", wantErr: "config: host.yaml:2:3:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := Parse("host.yaml", []byte(tc.yaml))
			if tc.wantErr != "" {
				if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("Parse = %v, want an error starting %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Service.Watch.Enabled(true); got != tc.want {
				t.Fatalf("watch = %v (%v), want %v", got, c.Service.Watch, tc.want)
			}
		})
	}
}
