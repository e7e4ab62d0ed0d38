package abi

import "encoding/binary"

// Header starts every event payload (40 bytes):
//
//	header := u32 kind | u32 abi_version | u64 delivery_seq | u64 dropped | u64 event_seq | i64 time_unix_nano
type Header struct {
	Kind         uint32 // KindDeclared … KindClosing
	Version      uint32 // the ABI version the host encoded (1)
	DeliverySeq  uint64 // the plugin's delivery number: 1, 2, …; gaps are drops
	Dropped      uint64 // events dropped from the plugin's queue since the previous delivery
	EventSeq     uint64 // the event's number in its client
	TimeUnixNano int64  // when the event happened; 0 if unknown
}

// DecodeHeader decodes the header of an event and returns the body after it.
func DecodeHeader(b []byte) (Header, []byte, error) {
	if len(b) < HeaderSize {
		return Header{}, nil, ErrMalformed
	}
	le := binary.LittleEndian
	h := Header{
		Kind:         le.Uint32(b[0:]),
		Version:      le.Uint32(b[4:]),
		DeliverySeq:  le.Uint64(b[8:]),
		Dropped:      le.Uint64(b[16:]),
		EventSeq:     le.Uint64(b[24:]),
		TimeUnixNano: int64(le.Uint64(b[32:])),
	}
	return h, b[HeaderSize:], nil
}

// AppendHeader appends an event header.
func AppendHeader(b []byte, h Header) []byte {
	b = AppendU32(b, h.Kind)
	b = AppendU32(b, h.Version)
	b = AppendU64(b, h.DeliverySeq)
	b = AppendU64(b, h.Dropped)
	b = AppendU64(b, h.EventSeq)
	return AppendI64(b, h.TimeUnixNano)
}

// Declared is a decoded declared-event body:
//
//	declared := str setting | str version | str outcome | str latest_version | str differences_json | u8 tracked | str error
type Declared struct {
	Setting, Version, Outcome, LatestVersion []byte
	Differences                              []byte // wire JSON, or empty
	Tracked                                  bool
	Err                                      []byte // the failure's message, or empty
}

// DecodeDeclared decodes a declared-event body.
func DecodeDeclared(body []byte) (Declared, error) {
	r := NewReader(body)
	d := Declared{
		Setting:       r.Str(),
		Version:       r.Str(),
		Outcome:       r.Str(),
		LatestVersion: r.Str(),
		Differences:   r.Str(),
		Tracked:       r.Bool(),
		Err:           r.Str(),
	}
	if r.bad || r.Len() != 0 {
		return Declared{}, ErrMalformed
	}
	return d, nil
}

// UpdateOK is a decoded update-ok body:
//
//	update_ok := u8 not_modified | str etag | i64 duration_ns | strs changed | rejecteds
type UpdateOK struct {
	NotModified bool
	ETag        []byte
	DurationNS  int64
	Changed     Strs
	Rejected    Rejecteds
}

// DecodeUpdateOK decodes an update-ok body.
func DecodeUpdateOK(body []byte) (UpdateOK, error) {
	r := NewReader(body)
	u := UpdateOK{NotModified: r.Bool(), ETag: r.Str(), DurationNS: r.I64()}
	u.Changed = readStrs(&r)
	u.Rejected = readRejecteds(&r)
	if r.bad || r.Len() != 0 {
		return UpdateOK{}, ErrMalformed
	}
	return u, nil
}

// Rejected is one value the client refused:
//
//	rejected := str setting | u8 is_default | i64 rule_id | pairs conditions | str value_json | str reason
type Rejected struct {
	Setting    []byte
	Default    bool
	RuleID     int64
	Conditions Pairs
	Value      []byte
	Reason     []byte
}

func readRejected(r *Reader) Rejected {
	return Rejected{Setting: r.Str(), Default: r.Bool(), RuleID: r.I64(), Conditions: readPairs(r), Value: r.Str(), Reason: r.Str()}
}

// Rejecteds is a list of [Rejected] (u32 n, then n items).
type Rejecteds struct {
	n    int
	body []byte
}

// Len returns the number of items.
func (l Rejecteds) Len() int { return l.n }

// Iter returns an iterator over the items.
func (l Rejecteds) Iter() RejectedIter { return RejectedIter{r: NewReader(l.body), left: l.n} }

// RejectedIter walks a [Rejecteds].
type RejectedIter struct {
	r    Reader
	left int
}

// Next returns the next item; ok is false at the end.
func (it *RejectedIter) Next() (Rejected, bool) {
	if it.left <= 0 {
		return Rejected{}, false
	}
	it.left--
	v := readRejected(&it.r)
	return v, it.r.Err() == nil
}

func readRejecteds(r *Reader) Rejecteds {
	n := r.U32()
	start := r.off
	if uint64(n) > uint64(r.Len()) {
		r.bad = true
		return Rejecteds{}
	}
	for i := 0; i < int(n) && !r.bad; i++ {
		readRejected(r)
	}
	if r.bad {
		return Rejecteds{}
	}
	return Rejecteds{n: int(n), body: r.b[start:r.off]}
}

// UpdateError is a decoded update-error body:
//
//	update_error := str message | u32 consecutive_failures | i64 last_success_unix_nano | i64 duration_ns
type UpdateError struct {
	Message             []byte
	ConsecutiveFailures uint32
	LastSuccessUnixNano int64 // 0: never succeeded
	DurationNS          int64
}

// DecodeUpdateError decodes an update-error body.
func DecodeUpdateError(body []byte) (UpdateError, error) {
	r := NewReader(body)
	u := UpdateError{Message: r.Str(), ConsecutiveFailures: r.U32(), LastSuccessUnixNano: r.I64(), DurationNS: r.I64()}
	if r.bad || r.Len() != 0 {
		return UpdateError{}, ErrMalformed
	}
	return u, nil
}

// SettingChanged is a decoded setting-changed body:
//
//	setting_changed := str setting | ruleset old | ruleset new
type SettingChanged struct {
	Setting  []byte
	Old, New RuleSet
}

// DecodeSettingChanged decodes a setting-changed body.
func DecodeSettingChanged(body []byte) (SettingChanged, error) {
	// The smallest body is an empty setting name and two empty rulesets.
	l := int64(len(body))
	if l < 4+2*minRuleSet {
		return SettingChanged{}, ErrMalformed
	}
	n := u32At(body, 0)
	bad := past(4+n, l)
	o := upTo(4+n, l)
	s := SettingChanged{Setting: body[4:o:o]}
	var bad1, bad2 int64
	s.Old, o, bad1 = scanRuleSet(body, o)
	s.New, o, bad2 = scanRuleSet(body, o)
	if bad|bad1|bad2|past(l, o) != 0 {
		return SettingChanged{}, ErrMalformed
	}
	return s, nil
}

// RuleSet is a setting's rules and server default:
//
//	ruleset := u8 retrieved | u8 has_default | str default_json | u32 n | n × rule
type RuleSet struct {
	Retrieved  bool
	HasDefault bool
	Default    []byte // wire JSON when HasDefault
	Rules      Rules
}

// Rule is one rule:
//
//	rule := i64 rule_id | pairs conditions | str value_json
type Rule struct {
	ID         int64
	Conditions Pairs
	Value      []byte
}

// Rules is a list of [Rule].
type Rules struct {
	n    int
	body []byte
}

// Len returns the number of rules.
func (l Rules) Len() int { return l.n }

// Iter returns an iterator over the rules.
func (l Rules) Iter() RuleIter { return RuleIter{b: l.body, left: l.n} }

// RuleIter walks a [Rules].
type RuleIter struct {
	b    []byte
	o    int64
	left int
}

// Next returns the next rule; ok is false at the end.
//
// The decoder that made the [Rules] checked its body, so Next only clamps
// offsets (a damaged body yields empty strings, never a panic) and takes no
// branch but its own return; see scan.go for why that matters in a guest.
func (it *RuleIter) Next() (Rule, bool) {
	if it.left <= 0 {
		return Rule{}, false
	}
	it.left--
	b, o := it.b, it.o
	l := int64(len(b))
	if l < 12 {
		it.left = 0
		return Rule{}, false
	}
	r := Rule{ID: int64(binary.LittleEndian.Uint64(b[upTo(o, l-12):]))}
	n := u32At(b, upTo(o+8, l-4))
	o = upTo(o+12, l)
	start := o
	n = upTo(n, (l-o)/8)
	for range 2 * n {
		o = upTo(o+4+u32At(b, upTo(o, l-4)), l)
	}
	r.Conditions = Pairs{n: int(n), body: b[start:o:o]}
	v := upTo(o+4, l)
	o = upTo(v+u32At(b, upTo(o, l-4)), l)
	r.Value = b[v:o:o]
	it.o = o
	return r, true
}
