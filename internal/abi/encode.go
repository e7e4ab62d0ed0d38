package abi

import (
	"fmt"

	"github.com/heksher-go/heksher/event"
)

// AppendDelivery appends the payload of d (header and body) to b. It returns
// an error only for an event type it does not know. With a b of enough
// capacity it does not allocate, except to format an event's error message.
func AppendDelivery(b []byte, d event.Delivery) ([]byte, error) {
	if d.Event == nil {
		return b, fmt.Errorf("abi: delivery %d has no event", d.Seq)
	}
	h := d.Event.Head()
	var t int64
	if !h.Time.IsZero() {
		t = h.Time.UnixNano()
	}
	b = AppendHeader(b, Header{
		Kind:         uint32(d.Event.Kind()),
		Version:      Version,
		DeliverySeq:  d.Seq,
		Dropped:      d.Dropped,
		EventSeq:     h.Seq,
		TimeUnixNano: t,
	})
	switch e := d.Event.(type) {
	case *event.Declared:
		b = AppendStr(b, e.Setting)
		b = AppendStr(b, e.Version)
		b = AppendStr(b, e.Outcome)
		b = AppendStr(b, e.LatestVersion)
		b = AppendBytes(b, e.Differences)
		b = AppendBool(b, e.Tracked)
		b = appendErr(b, e.Err)
	case *event.UpdateOK:
		b = AppendBool(b, e.NotModified)
		b = AppendStr(b, e.ETag)
		b = AppendI64(b, int64(e.Duration))
		b = AppendU32(b, uint32(len(e.Changed)))
		for _, s := range e.Changed {
			b = AppendStr(b, s)
		}
		b = AppendU32(b, uint32(len(e.Rejected)))
		for i := range e.Rejected {
			rv := &e.Rejected[i]
			b = AppendStr(b, rv.Setting)
			b = AppendBool(b, rv.Default)
			b = AppendI64(b, rv.RuleID)
			b = appendConditions(b, rv.Conditions)
			b = AppendBytes(b, rv.Value)
			b = AppendStr(b, rv.Reason)
		}
	case *event.UpdateError:
		b = appendErr(b, e.Err)
		b = AppendU32(b, uint32(max(e.ConsecutiveFailures, 0)))
		var ls int64
		if !e.LastSuccess.IsZero() {
			ls = e.LastSuccess.UnixNano()
		}
		b = AppendI64(b, ls)
		b = AppendI64(b, int64(e.Duration))
	case *event.SettingChanged:
		b = AppendStr(b, e.Setting)
		b = appendRuleSet(b, &e.Old)
		b = appendRuleSet(b, &e.New)
	case *event.Closing:
	default:
		return b, fmt.Errorf("abi: unknown event type %T", d.Event)
	}
	return b, nil
}

func appendErr(b []byte, err error) []byte {
	if err == nil {
		return AppendU32(b, 0)
	}
	return AppendStr(b, err.Error())
}

func appendConditions(b []byte, cs []event.Condition) []byte {
	b = AppendU32(b, uint32(len(cs)))
	for _, c := range cs {
		b = AppendStr(b, c.Feature)
		b = AppendStr(b, c.Value)
	}
	return b
}

func appendRuleSet(b []byte, rs *event.RuleSet) []byte {
	b = AppendBool(b, rs.Retrieved)
	b = AppendBool(b, rs.Default != nil)
	b = AppendBytes(b, rs.Default)
	b = AppendU32(b, uint32(len(rs.Rules)))
	for i := range rs.Rules {
		r := &rs.Rules[i]
		b = AppendI64(b, r.ID)
		b = appendConditions(b, r.Conditions)
		b = AppendBytes(b, r.Value)
	}
	return b
}
