package abi

// Host functions added to ABI v1 after its first version (docs/ABI.md §3):
// a guest that imports them is refused at load by hosts that predate them.
const (
	ImportSubscribeSetting = "subscribe_setting" // (name_ptr, name_len i32) -> i32
	ImportEventInfo        = "event_info"        // (what i32) -> i32
)

// AllSettings is the name that, given to subscribe_setting, selects every
// setting.
const AllSettings = "*"

// What event_info answers.
const (
	InfoFlags         int32 = 1 // the event's flags (FlagInitial, FlagUnreadable)
	InfoClosingReason int32 = 2 // a closing event's reason (ClosingShutdown…)
)

// Flags of an event, answered by event_info(InfoFlags).
const (
	// FlagInitial: a setting_changed whose old rules were never retrieved
	// (the setting's first values since the host began tracking it).
	FlagInitial int32 = 1
	// FlagUnreadable: a setting_changed for a setting this plugin may not
	// read (get_setting answers NOT_DECLARED).
	FlagUnreadable int32 = 2
)

// Closing reasons, answered by event_info(InfoClosingReason); 0 for an
// event that is not a closing event.
const (
	ClosingShutdown int32 = 1 // the host stops (its client closes)
	ClosingReplaced int32 = 2 // a reload replaces the plugin with a new version
	ClosingRemoved  int32 = 3 // a reload removes the plugin
)
