package heksher

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// B1
func TestSetting_DeclarationBody(t *testing.T) {
	cvFreshMain(t)
	s := cvMust(NewSetting("aaa", Int(), []string{"a", "b", "c", "x", "a"}, -1,
		WithMetadata(map[string]any{"some": "thing"}), WithAlias("aaaa"), WithVersion("3.6")))(t)
	body, err := s.declaration().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"aaa","configurable_features":["a","b","c","x"],"type":"int","metadata":{"some":"thing"},"alias":"aaaa","default_value":-1,"version":"3.6"}`
	if string(body) != want {
		t.Errorf("body = %s\nwant   %s", body, want)
	}
	if s.versionMajor() != 3 {
		t.Errorf("major = %d", s.versionMajor())
	}
	plain := cvMust(NewSetting("b", Float(), nil, 5))(t)
	body, _ = plain.declaration().Marshal()
	if want := `{"name":"b","configurable_features":[],"type":"float","metadata":{},"alias":null,"default_value":5.0,"version":"1.0"}`; string(body) != want {
		t.Errorf("body = %s\nwant   %s", body, want)
	}
}

func TestSetting_ConstructionErrors(t *testing.T) {
	cvFreshMain(t)
	onCoerceString := WithOnCoerce(func(v string, _ json.RawMessage, _ []string, _ *QueriedRule) (string, error) { return v, nil })
	tests := []struct {
		name string
		make func() error
	}{
		{"version without minor (Python accepts 3)", func() error { _, err := NewSetting("a", Int(), nil, 0, WithVersion("3")); return err }},
		{"version with three parts", func() error { _, err := NewSetting("a", Int(), nil, 0, WithVersion("1.2.3")); return err }},
		{"version with letters", func() error { _, err := NewSetting("a", Int(), nil, 0, WithVersion("v1.0")); return err }},
		{"version too large", func() error {
			_, err := NewSetting("a", Int(), nil, 0, WithVersion("99999999999999999999999.0"))
			return err
		}},
		{"default not a member", func() error { _, err := NewSetting("a", colorEnum, nil, color(9)); return err }},
		{"default flag not declared", func() error { _, err := NewSetting("a", Flags("x"), nil, NewFlagSet("y")); return err }},
		{"zero type", func() error { _, err := NewSetting("a", Type[int]{}, nil, 0); return err }},
		{"invalid enum", func() error {
			_, err := NewSetting("a", Enum(EnumMember[int]{1, 1}, EnumMember[int]{2, 1.0}), nil, 1)
			return err
		}},
		{"metadata not JSON", func() error {
			_, err := NewSetting("a", Int(), nil, 0, WithMetadata(map[string]any{"f": func() {}}))
			return err
		}},
		{"on-coerce for another type", func() error { _, err := NewSetting("a", Int(), nil, 0, onCoerceString); return err }},
		{"too many features", func() error {
			fs := make([]string, 65)
			for i := range fs {
				fs[i] = "f" + string(rune('A'+i))
			}
			_, err := NewSetting("a", Int(), fs, 0)
			return err
		}},
		{"dynamic default not of the type", func() error {
			typ := cvMust(ParseType("int"))(t)
			_, err := NewSetting("a", typ, nil, json.RawMessage("1.5"))
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.make()
			if !errors.Is(err, ErrInvalidSetting) {
				t.Fatalf("err = %v, want ErrInvalidSetting", err)
			}
			if !strings.HasPrefix(err.Error(), "heksher: ") {
				t.Errorf("error %q does not start with the package name", err)
			}
		})
	}
}

// B2
func TestSetting_NeverRetrieved(t *testing.T) {
	cvFreshMain(t)
	log, logs := cvNewLogger()
	s := cvMust(NewSetting("s", Int(), []string{"a", "b", "c"}, 0, WithSettingLogger(log)))(t)
	v, err := s.Get(context.Background(), nil)
	if err != nil || v != 0 {
		t.Fatalf("Get = %v, %v", v, err)
	}
	if logs.count(slog.LevelInfo, `.+ never retrieved .+`) != 1 {
		t.Error(`no INFO "never retrieved"`)
	}
	r := cvMust(s.Lookup(context.Background(), map[string]string{"a": "x"}))(t)
	if r.Source != SourceLocalDefault || r.Retrieved {
		t.Errorf("Lookup = %+v", r)
	}
}

// B3
func TestSetting_NotConfigurable(t *testing.T) {
	cvFreshMain(t)
	s := cvMust(NewSetting("s", Int(), []string{"a", "b", "c", "x"}, 0))(t)
	_, err := s.Get(context.Background(), map[string]string{"a": "", "b": "", "c": "", "x": "", "d": ""})
	var nce *NotConfigurableError
	if !errors.As(err, &nce) || !errors.Is(err, ErrNotConfigurable) || len(nce.Features) != 1 || nce.Features[0] != "d" {
		t.Fatalf("err = %v", err)
	}
	// Also after rules arrived (B64, example F).
	stub := cvStubMain(t)
	SetValue(stub, s, 3)
	if _, err := s.Get(context.Background(), map[string]string{"trust": "x"}); !errors.Is(err, ErrNotConfigurable) {
		t.Errorf("err = %v", err)
	}
}

func TestSetting_Accessors(t *testing.T) {
	cvFreshMain(t)
	s := cvMust(NewSetting("s", Sequence(Int()), []string{"a"}, []int64{1, 2}, WithAlias("old"),
		WithMetadata(map[string]any{"k": []any{1, "x"}})))(t)
	if s.Name() != "s" || s.TypeString() != "Sequence<int>" || s.Version() != "1.0" || len(s.Default()) != 2 {
		t.Errorf("accessors: %s %s %s %v", s.Name(), s.TypeString(), s.Version(), s.Default())
	}
	if a, ok := s.Alias(); !ok || a != "old" {
		t.Errorf("Alias = %q, %v", a, ok)
	}
	if string(s.Metadata()) != `{"k":[1,"x"]}` || string(s.DefaultJSON()) != "[1,2]" {
		t.Errorf("Metadata = %s, DefaultJSON = %s", s.Metadata(), s.DefaultJSON())
	}
	fs := s.Features()
	fs[0] = "zz"
	if s.Features()[0] != "a" {
		t.Error("Features exposes internal state")
	}
	if rs := s.RuleSet(); rs.Retrieved || len(rs.Rules) != 0 || rs.Default != nil {
		t.Errorf("RuleSet before retrieval = %+v", rs)
	}
}

// WithClient registers with the given client, not with the main slot.
func TestSetting_WithClient(t *testing.T) {
	cvFreshMain(t)
	c, err := NewClient("http://127.0.0.1:1", time.Minute, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	cvMust(NewSetting("owned", Int(), []string{"a"}, 1, WithClient(c)))(t)
	if n := c.PendingDeclarations(); n != 1 {
		t.Errorf("client has %d pending declarations, want 1", n)
	}
	other, err := NewClient("http://127.0.0.1:1", time.Minute, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	if err := other.takeMain(); err != nil {
		t.Fatal(err)
	}
	if n := other.PendingDeclarations(); n != 0 {
		t.Errorf("the main slot received the setting too (%d pending)", n)
	}
}
