package wasm

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/abi"
)

// These tests run natively: the dispatch and decoding are the same code as
// in a guest; only the host imports are stand-ins. host/wasm runs the SDK
// for real inside wazero.

func payload(t testing.TB, ev event.Event) []byte {
	t.Helper()
	b, err := abi.AppendDelivery(nil, event.Delivery{Event: ev, Seq: 7, Dropped: 1})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandleEvent(t *testing.T) {
	when := time.Unix(1700000000, 5)
	var got []string
	OnSettingChanged(func(d Delivery, e SettingChanged) error {
		got = append(got, e.Setting(), strings.Repeat("x", int(d.Seq)))
		if d.Dropped != 1 || d.EventSeq != 3 || !d.Time.Equal(when) {
			t.Errorf("delivery = %+v", d)
		}
		rules := e.New().Rules()
		r, ok := rules.Next()
		conds := r.Conditions()
		f, v, _ := conds.Next()
		def, hasDef := e.New().Default()
		if !ok || rules.Len() != 1 || r.ID() != 9 || string(r.Value()) != "2" || f != "env" || v != "prod" || !hasDef || string(def) != "1" {
			t.Errorf("rule %d %s=%s default %s", r.ID(), f, v, def)
		}
		if e.Setting() == "fail" {
			return errors.New("refused")
		}
		return nil
	})
	OnUpdateError(func(_ Delivery, e UpdateError) error {
		if e.Message() != "down" || e.ConsecutiveFailures() != 4 {
			t.Errorf("update error = %q %d", e.Message(), e.ConsecutiveFailures())
		}
		return ErrUnsupported
	})
	t.Cleanup(func() { OnSettingChanged(nil); OnUpdateError(nil) })
	if st := handleInit(nil); st != abi.StatusOK {
		t.Fatalf("init status %d", st)
	}
	sc := func(name string) *event.SettingChanged {
		return &event.SettingChanged{Header: event.Header{Seq: 3, Time: when}, Setting: name,
			New: event.RuleSet{Default: json.RawMessage("1"), Rules: []event.Rule{{ID: 9, Conditions: []event.Condition{{Feature: "env", Value: "prod"}}, Value: json.RawMessage("2")}}}}
	}
	tests := []struct {
		name string
		kind uint32
		ev   event.Event
		want int32
	}{
		{"handled", abi.KindSettingChanged, sc("limit"), abi.StatusOK},
		{"handler error", abi.KindSettingChanged, sc("fail"), abi.StatusError},
		{"unsupported by handler", abi.KindUpdateError, &event.UpdateError{Err: errors.New("down"), ConsecutiveFailures: 4}, abi.StatusUnsupported},
		{"no handler", abi.KindClosing, &event.Closing{}, abi.StatusUnsupported},
		{"kind mismatch", abi.KindUpdateOK, sc("limit"), abi.StatusError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if st := handleEvent(tc.kind, payload(t, tc.ev)); st != tc.want {
				t.Fatalf("status %d, want %d", st, tc.want)
			}
		})
	}
	if st := handleEvent(abi.KindSettingChanged, payload(t, sc("limit"))[:50]); st != abi.StatusError {
		t.Fatalf("truncated payload: status %d", st)
	}
	if len(got) < 2 || got[0] != "limit" {
		t.Fatalf("handler saw %q", got)
	}
}

func TestHandleEventDoesNotAllocate(t *testing.T) {
	OnSettingChanged(func(_ Delivery, e SettingChanged) error {
		rules := e.New().Rules()
		for r, ok := rules.Next(); ok; r, ok = rules.Next() {
			c := r.Conditions()
			for _, _, ok := c.Next(); ok; _, _, ok = c.Next() {
			}
		}
		return nil
	})
	t.Cleanup(func() { OnSettingChanged(nil) })
	b := payload(t, &event.SettingChanged{Setting: "s", New: event.RuleSet{Rules: []event.Rule{{ID: 1, Conditions: []event.Condition{{Feature: "a", Value: "b"}}, Value: json.RawMessage("1")}}}})
	if n := testing.AllocsPerRun(100, func() { handleEvent(abi.KindSettingChanged, b) }); n != 0 {
		t.Fatalf("dispatch allocates %v times", n)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		fn   func([]byte) (any, error)
		want any
		err  error
	}{
		{"int", "42", func(b []byte) (any, error) { return ParseInt(b) }, int64(42), nil},
		{"int from integral float", "3.0", func(b []byte) (any, error) { return ParseInt(b) }, int64(3), nil},
		{"int from fraction", "3.5", func(b []byte) (any, error) { return ParseInt(b) }, int64(0), ErrType},
		{"int from string", `"3"`, func(b []byte) (any, error) { return ParseInt(b) }, int64(0), ErrType},
		{"float", "2.5", func(b []byte) (any, error) { return ParseFloat(b) }, 2.5, nil},
		{"float NaN", "NaN", func(b []byte) (any, error) { return ParseFloat(b) }, 0.0, ErrType},
		{"bool", "true", func(b []byte) (any, error) { return ParseBool(b) }, true, nil},
		{"bool bad", "1", func(b []byte) (any, error) { return ParseBool(b) }, false, ErrType},
		{"string", `"hi"`, func(b []byte) (any, error) { return ParseString(b) }, "hi", nil},
		{"string escaped", `"a\"b\u00e9"`, func(b []byte) (any, error) { return ParseString(b) }, `a"bé`, nil},
		{"string bad", `hi`, func(b []byte) (any, error) { return ParseString(b) }, "", ErrType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.fn([]byte(tc.in))
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("got %v, %v; want %v, %v", got, err, tc.want, tc.err)
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseInt([]byte("12345")) }); n != 0 {
		t.Fatalf("ParseInt allocates %v times", n)
	}
}

func TestContextBuilderAndNativeHost(t *testing.T) {
	var b ContextBuilder
	b.Reset().Add("env", "prod").Add("user", "ann")
	p, err := abi.DecodeContext(b.Context().b)
	if err != nil || p.Len() != 2 {
		t.Fatalf("context: %v, %d", err, p.Len())
	}
	if string(NewContext("env", "prod").b) != string(abi.AppendContext(nil, "env", "prod")) {
		t.Fatal("NewContext encodes differently")
	}
	// Natively there is no host.
	if _, err := GetInt("x", Context{}); !errors.Is(err, ErrHost) {
		t.Fatalf("native lookup: %v", err)
	}
	if err := Declare(Declaration{Name: "x"}); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("declare outside init: %v", err)
	}
}

// TestResultError maps every result code of the host functions to the
// error a lookup returns.
func TestResultError(t *testing.T) {
	tests := []struct {
		name string
		code int32
		want error
	}{
		{"not found", abi.ResultNotFound, ErrNotFound},
		{"not declared", abi.ResultNotDeclared, ErrNotDeclared},
		{"bad context", abi.ResultBadContext, ErrBadContext},
		{"malformed context", abi.ResultMalformed, ErrBadContext},
		{"invalid memory", abi.ResultInvalidMemory, ErrHost},
		{"internal", abi.ResultInternal, ErrHost},
		{"not allowed", abi.ResultNotAllowed, ErrHost},
		{"unknown", -100, ErrHost},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Identity, not errors.Is: lookups promise unwrapped sentinels.
			if got := resultError(tc.code); got != tc.want {
				t.Fatalf("resultError(%d) = %v, want %v", tc.code, got, tc.want)
			}
		})
	}
}
