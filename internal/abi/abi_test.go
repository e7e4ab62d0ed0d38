package abi

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/heksher-go/heksher/event"
)

var when = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

func sampleChanged() *event.SettingChanged {
	return &event.SettingChanged{
		Header:  event.Header{Seq: 7, Time: when},
		Setting: "cache_ttl",
		Old:     event.RuleSet{Retrieved: true, Rules: []event.Rule{{ID: 1, Conditions: []event.Condition{{Feature: "env", Value: "prod"}}, Value: json.RawMessage(`30`)}}},
		New: event.RuleSet{Retrieved: true, Default: json.RawMessage(`10`), Rules: []event.Rule{
			{ID: 2, Conditions: []event.Condition{{Feature: "env", Value: "prod"}, {Feature: "user", Value: "alice"}}, Value: json.RawMessage(`60`)},
			{ID: 3, Value: json.RawMessage(`5`)},
		}},
	}
}

func TestDeliveryRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		ev    event.Event
		check func(t *testing.T, body []byte)
	}{
		{"declared", &event.Declared{Header: event.Header{Seq: 1, Time: when}, Setting: "s", Version: "1.0", Outcome: "created", Differences: json.RawMessage(`[1]`), Tracked: true, Err: errors.New("boom")},
			func(t *testing.T, body []byte) {
				d, err := DecodeDeclared(body)
				if err != nil || string(d.Setting) != "s" || string(d.Outcome) != "created" || !d.Tracked || string(d.Err) != "boom" || string(d.Differences) != "[1]" {
					t.Fatalf("got %+v, %v", d, err)
				}
			}},
		{"update_ok", &event.UpdateOK{Header: event.Header{Seq: 2}, ETag: "e1", Changed: []string{"a", "b"}, Duration: time.Second,
			Rejected: []event.RejectedValue{{Setting: "a", RuleID: 4, Conditions: []event.Condition{{Feature: "f", Value: "v"}}, Value: json.RawMessage(`"x"`), Reason: "bad"}}},
			func(t *testing.T, body []byte) {
				u, err := DecodeUpdateOK(body)
				if err != nil || string(u.ETag) != "e1" || u.DurationNS != int64(time.Second) || u.Changed.Len() != 2 || u.Rejected.Len() != 1 {
					t.Fatalf("got %+v, %v", u, err)
				}
				it := u.Changed.Iter()
				var got []string
				for s, ok := it.Next(); ok; s, ok = it.Next() {
					got = append(got, string(s))
				}
				if len(got) != 2 || got[1] != "b" {
					t.Fatalf("changed = %q", got)
				}
				ri := u.Rejected.Iter()
				rv, ok := ri.Next()
				if !ok || rv.RuleID != 4 || string(rv.Reason) != "bad" || rv.Conditions.Len() != 1 {
					t.Fatalf("rejected = %+v", rv)
				}
			}},
		{"update_error", &event.UpdateError{Header: event.Header{Seq: 3}, Err: errors.New("timeout"), ConsecutiveFailures: 4, LastSuccess: when},
			func(t *testing.T, body []byte) {
				u, err := DecodeUpdateError(body)
				if err != nil || string(u.Message) != "timeout" || u.ConsecutiveFailures != 4 || u.LastSuccessUnixNano != when.UnixNano() {
					t.Fatalf("got %+v, %v", u, err)
				}
			}},
		{"setting_changed", sampleChanged(),
			func(t *testing.T, body []byte) {
				s, err := DecodeSettingChanged(body)
				if err != nil || string(s.Setting) != "cache_ttl" || s.Old.HasDefault || !s.New.HasDefault || string(s.New.Default) != "10" || s.New.Rules.Len() != 2 {
					t.Fatalf("got %+v, %v", s, err)
				}
				it := s.New.Rules.Iter()
				r, _ := it.Next()
				ci := r.Conditions.Iter()
				_, _, _ = ci.Next()
				f, v, ok := ci.Next()
				if r.ID != 2 || string(r.Value) != "60" || !ok || string(f) != "user" || string(v) != "alice" {
					t.Fatalf("rule = %+v %s=%s", r, f, v)
				}
				r, ok = it.Next()
				if !ok || r.ID != 3 || r.Conditions.Len() != 0 {
					t.Fatalf("rule 2 = %+v", r)
				}
				if _, ok := it.Next(); ok {
					t.Fatal("iterator did not end")
				}
			}},
		{"closing", &event.Closing{Header: event.Header{Seq: 9}}, func(t *testing.T, body []byte) {
			if len(body) != 0 {
				t.Fatalf("closing body = %d bytes", len(body))
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := AppendDelivery(nil, event.Delivery{Event: tc.ev, Seq: 11, Dropped: 2})
			if err != nil {
				t.Fatal(err)
			}
			h, body, err := DecodeHeader(b)
			if err != nil {
				t.Fatal(err)
			}
			if h.Kind != uint32(tc.ev.Kind()) || h.Version != Version || h.DeliverySeq != 11 || h.Dropped != 2 || h.EventSeq != tc.ev.Head().Seq {
				t.Fatalf("header = %+v", h)
			}
			tc.check(t, body)
		})
	}
}

// Every truncation of a valid payload must decode to ErrMalformed, never panic.
func TestDecodeTruncated(t *testing.T) {
	b, err := AppendDelivery(nil, event.Delivery{Event: sampleChanged(), Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	body := b[HeaderSize:]
	for n := 0; n < len(body); n++ {
		if _, err := DecodeSettingChanged(body[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("prefix %d: err = %v", n, err)
		}
	}
	if _, _, err := DecodeHeader(b[:HeaderSize-1]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short header: %v", err)
	}
}

func TestContextAndDeclaration(t *testing.T) {
	c := AppendContext(nil, "env", "prod", "user", "bob")
	p, err := DecodeContext(c)
	if err != nil || p.Len() != 2 {
		t.Fatalf("context: %v %d", err, p.Len())
	}
	if _, err := DecodeContext(append(c, 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("trailing byte accepted: %v", err)
	}
	if p, err := DecodeContext(nil); err != nil || p.Len() != 0 {
		t.Fatalf("empty context: %v", err)
	}
	// A count far larger than the payload is refused before any walk.
	if _, err := DecodeContext([]byte{0xff, 0xff, 0xff, 0xff}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("huge count accepted: %v", err)
	}
	d := AppendDeclaration(nil, "limit", "int", []string{"env", "user"}, []byte(`5`), "1.2", nil)
	got, err := DecodeDeclaration(d)
	if err != nil || string(got.Name) != "limit" || string(got.Type) != "int" || got.Features.Len() != 2 || string(got.Default) != "5" || string(got.Version) != "1.2" || len(got.Metadata) != 0 {
		t.Fatalf("declaration: %+v %v", got, err)
	}
}

func TestDecodeAllocs(t *testing.T) {
	b, _ := AppendDelivery(nil, event.Delivery{Event: sampleChanged(), Seq: 1})
	allocs := testing.AllocsPerRun(100, func() {
		_, body, _ := DecodeHeader(b)
		s, _ := DecodeSettingChanged(body)
		it := s.New.Rules.Iter()
		for r, ok := it.Next(); ok; r, ok = it.Next() {
			ci := r.Conditions.Iter()
			for _, _, ok := ci.Next(); ok; _, _, ok = ci.Next() {
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("decode allocates %v times", allocs)
	}
	buf := make([]byte, 0, 1024)
	d := event.Delivery{Event: sampleChanged(), Seq: 1}
	allocs = testing.AllocsPerRun(100, func() {
		buf, _ = AppendDelivery(buf[:0], d)
	})
	if allocs != 0 {
		t.Fatalf("encode into a reused buffer allocates %v times", allocs)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, ev := range []event.Event{sampleChanged(), &event.UpdateOK{Changed: []string{"x"}}, &event.Closing{}} {
		b, _ := AppendDelivery(nil, event.Delivery{Event: ev})
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, body, err := DecodeHeader(b)
		if err != nil {
			return
		}
		_ = h
		_, _ = DecodeDeclared(body)
		_, _ = DecodeUpdateError(body)
		if u, err := DecodeUpdateOK(body); err == nil {
			it := u.Rejected.Iter()
			for _, ok := it.Next(); ok; _, ok = it.Next() {
			}
		}
		if s, err := DecodeSettingChanged(body); err == nil {
			var buf bytes.Buffer
			it := s.Old.Rules.Iter()
			for r, ok := it.Next(); ok; r, ok = it.Next() {
				buf.Write(r.Value)
			}
		}
		_, _ = DecodeContext(body)
		_, _ = DecodeDeclaration(body)
	})
}

// A lookup answer decodes to what was encoded, and a truncated or padded
// one is malformed.
func TestLookupAnswerRoundTrip(t *testing.T) {
	b := AppendLookupAnswer(nil, SourceRule, OriginSnapshot, 7,
		[]event.Condition{{Feature: "env", Value: "prod"}}, []byte(`"text"`))
	a, err := DecodeLookupAnswer(b)
	if err != nil {
		t.Fatal(err)
	}
	it := a.Conditions.Iter()
	f, v, ok := it.Next()
	if a.Source != SourceRule || a.Origin != OriginSnapshot || a.RuleID != 7 || string(a.Value) != `"text"` ||
		!ok || string(f) != "env" || string(v) != "prod" || a.Conditions.Len() != 1 {
		t.Errorf("decoded %+v", a)
	}
	for _, bad := range [][]byte{b[:len(b)-1], append(b, 0), b[:5]} {
		if _, err := DecodeLookupAnswer(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%x: %v, want ErrMalformed", bad, err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = DecodeLookupAnswer(b) }); n != 0 {
		t.Errorf("DecodeLookupAnswer allocates %v times", n)
	}
}
