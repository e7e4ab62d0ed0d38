package wasm

import (
	"unsafe"

	"github.com/heksher-go/heksher/internal/abi"
)

// Source says whether a rule or a default gave a looked-up value.
type Source uint8

// The sources of a value.
const (
	SourceRule          Source = Source(abi.SourceRule)          // a rule matched
	SourceServerDefault Source = Source(abi.SourceServerDefault) // no rule matched: the server's default
	SourceLocalDefault  Source = Source(abi.SourceLocalDefault)  // no rule matched and no server default: the declared default
)

// String returns the source's name: "rule", "server_default",
// "local_default", or "unknown".
func (s Source) String() string {
	switch s {
	case SourceRule:
		return "rule"
	case SourceServerDefault:
		return "server_default"
	case SourceLocalDefault:
		return "local_default"
	}
	return "unknown"
}

// Origin says where the rules behind a looked-up value came from.
type Origin uint8

// The origins of a value.
const (
	OriginUnknown  Origin = Origin(abi.OriginUnknown)  // the host does not say
	OriginService  Origin = Origin(abi.OriginService)  // the service's latest answer
	OriginSnapshot Origin = Origin(abi.OriginSnapshot) // the host's snapshot file, saved from an earlier answer (the service is down)
	OriginDefaults Origin = Origin(abi.OriginDefaults) // no rules received for the setting: its declared default
)

// String returns the origin's name: "service", "snapshot", "defaults" or
// "unknown".
func (o Origin) String() string {
	switch o {
	case OriginService:
		return "service"
	case OriginSnapshot:
		return "snapshot"
	case OriginDefaults:
		return "defaults"
	}
	return "unknown"
}

// Answer is a lookup's answer: the value and where it came from.
type Answer struct {
	// Value is the value as wire JSON; valid until the next lookup.
	Value []byte
	// Source says whether a rule or a default gave it.
	Source Source
	// Origin says whether the rules it was resolved from are the
	// service's latest answer, the host's snapshot, or none (the default).
	Origin Origin
	// RuleID is the matching rule's id when Source is SourceRule.
	RuleID int64
	// Conditions are the matching rule's conditions, in the server's
	// order (none unless Source is SourceRule), read in place without
	// allocating; valid until the next lookup, like Value.
	Conditions Conditions
}

// infoBuf receives lookup answers from the host; it grows to the largest
// answer seen and is reused.
var infoBuf = make([]byte, 256)

// GetAnswer looks setting up for c, as [GetRaw] does, and says where the value
// came from. It needs a host that provides get_setting_info (docs/ABI.md
// §3); a guest that calls it is refused at load by older hosts.
//
// # Errors
//
// Those of [GetRaw], and [ErrHost] for an answer that does not decode.
func GetAnswer(setting string, c Context) (Answer, error) {
	for {
		n := hostGetSettingInfo(setting, unsafe.Pointer(unsafe.SliceData(c.b)), uint32(len(c.b)),
			unsafe.Pointer(unsafe.SliceData(infoBuf)), uint32(len(infoBuf)))
		switch {
		case n < 0:
			return Answer{}, resultError(n)
		case int(n) <= len(infoBuf):
			a, err := abi.DecodeLookupAnswer(infoBuf[:n])
			if err != nil {
				return Answer{}, ErrHost
			}
			return Answer{Value: a.Value, Source: Source(a.Source), Origin: Origin(a.Origin), RuleID: a.RuleID,
				Conditions: Conditions{a.Conditions.Len(), a.Conditions.Iter()}}, nil
		}
		infoBuf = make([]byte, n) // the answer did not fit: grow and ask again
	}
}
