package abi

import "github.com/heksher-go/heksher/event"

// ImportGetSettingInfo is the host function added to ABI v1 that answers a
// lookup with where its value came from (docs/ABI.md §3, §5.5):
// (name_ptr, name_len, ctx_ptr, ctx_len, buf_ptr, buf_cap i32) -> i32, the
// arguments and results of get_setting, with a [LookupAnswer] written
// instead of the bare value. A guest that imports it is refused at load by
// hosts that predate it.
const ImportGetSettingInfo = "get_setting_info"

// Origins of a looked-up value in a [LookupAnswer]; they equal
// pluginapi.Origin's values.
const (
	OriginUnknown  uint8 = 0 // the host does not say
	OriginService  uint8 = 1 // the service's latest answer
	OriginSnapshot uint8 = 2 // the snapshot file, saved from an earlier answer
	OriginDefaults uint8 = 3 // no rules received for the setting: its declared default
)

// Sources of a looked-up value in a [LookupAnswer]; they equal
// event.Source's values.
const (
	SourceRule          uint8 = 1 // a rule matched
	SourceServerDefault uint8 = 2 // no rule matched: the server's default
	SourceLocalDefault  uint8 = 3 // no rule matched and no server default: the declared default
)

// LookupAnswer is a decoded answer of get_setting_info:
//
//	lookup_answer := u8 source | u8 origin | i64 rule_id | pairs conditions | str value_json
//
// Its fields alias the payload.
type LookupAnswer struct {
	Source     uint8
	Origin     uint8
	RuleID     int64 // the matching rule's id; 0 unless Source is SourceRule
	Conditions Pairs // the matching rule's conditions, in the server's order
	Value      []byte
}

// AppendLookupAnswer appends the encoding of a lookup answer.
func AppendLookupAnswer(b []byte, source, origin uint8, ruleID int64, conds []event.Condition, value []byte) []byte {
	b = append(b, source, origin)
	b = AppendI64(b, ruleID)
	b = appendConditions(b, conds)
	return AppendBytes(b, value)
}

// DecodeLookupAnswer decodes a lookup answer; the payload must hold exactly
// one. It does not allocate.
func DecodeLookupAnswer(b []byte) (LookupAnswer, error) {
	r := NewReader(b)
	var a LookupAnswer
	a.Source = r.U8()
	a.Origin = r.U8()
	a.RuleID = r.I64()
	a.Conditions = readPairs(&r)
	a.Value = r.Str()
	if r.bad || r.Len() != 0 {
		return LookupAnswer{}, ErrMalformed
	}
	return a, nil
}
