package wasm

import "github.com/heksher-go/heksher/internal/abi"

// AllSettings, given to [SubscribeSetting], selects every setting.
const AllSettings = "*"

// SubscribeSetting asks for the setting_changed events of the named
// settings besides those the plugin declares, which it always receives;
// [AllSettings] asks for every setting the host tracks. It may only be
// called from the function registered with [Init], and has effect only
// with an [OnSettingChanged] handler.
//
// Reading a setting stays capped by the host's grants: an event for a
// setting the plugin may not read arrives with [Delivery.Unreadable] set
// (its lookups answer [ErrNotDeclared]).
//
// # Errors
//
// [ErrNotAllowed] outside init; [ErrHost].
func SubscribeSetting(names ...string) error {
	if !inInit {
		return ErrNotAllowed
	}
	for _, n := range names {
		if n == "" {
			continue
		}
		switch hostSubscribeSetting(n) {
		case abi.ResultOK:
		case abi.ResultNotAllowed:
			return ErrNotAllowed
		default:
			return ErrHost
		}
	}
	return nil
}

// ClosingReason says why the plugin receives its closing event
// ([Delivery.Reason]).
type ClosingReason uint8

// The reasons of a closing event; the values are those of the Go host's
// event.ClosingReason.
const (
	// ClosingShutdown: the host stops.
	ClosingShutdown ClosingReason = iota
	// ClosingReplaced: a configuration reload replaces the plugin with a
	// new version of it (its file or configuration changed).
	ClosingReplaced
	// ClosingRemoved: a configuration reload removed the plugin.
	ClosingRemoved
)

// String returns "shutdown", "replaced", "removed" or "unknown".
func (r ClosingReason) String() string {
	switch r {
	case ClosingShutdown:
		return "shutdown"
	case ClosingReplaced:
		return "replaced"
	case ClosingRemoved:
		return "removed"
	}
	return "unknown"
}

// closingReason maps the ABI's closing reason to a ClosingReason; an
// unknown or absent one is a shutdown, which is what closing meant before
// reasons existed.
func closingReason(code int32) ClosingReason {
	switch code {
	case abi.ClosingReplaced:
		return ClosingReplaced
	case abi.ClosingRemoved:
		return ClosingRemoved
	}
	return ClosingShutdown
}
