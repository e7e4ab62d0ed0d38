// The heksher_v1 host functions (docs/ABI.md §3). Pointers and lengths are
// i32 offsets into this module's memory; strings are passed as UTF-8 bytes.

// @ts-ignore: decorator
@external("heksher_v1", "get_setting")
export declare function hostGetSetting(name: usize, nameLen: i32, ctx: usize, ctxLen: i32, buf: usize, bufCap: i32): i32;

// get_setting with where the value came from: writes a lookup answer
// (docs/ABI.md §5.5: source, origin, rule id, conditions, value).
// @ts-ignore: decorator
@external("heksher_v1", "get_setting_info")
export declare function hostGetSettingInfo(name: usize, nameLen: i32, ctx: usize, ctxLen: i32, buf: usize, bufCap: i32): i32;

// @ts-ignore: decorator
@external("heksher_v1", "set_error")
export declare function hostSetError(ptr: usize, len: i32): void;

// @ts-ignore: decorator
@external("heksher_v1", "log")
export declare function hostLog(level: i32, ptr: usize, len: i32): void;

// @ts-ignore: decorator
@external("heksher_v1", "log_enabled")
export declare function hostLogEnabled(level: i32): i32;

// @ts-ignore: decorator
@external("heksher_v1", "declare")
export declare function hostDeclare(ptr: usize, len: i32): i32;

// @ts-ignore: decorator
@external("heksher_v1", "subscribe")
export declare function hostSubscribe(kinds: u32): i32;

// The reason of this instance's last failing host call (docs/ABI.md §3,
// last_error): its length, written to buf only if it fits.
// @ts-ignore: decorator
@external("heksher_v1", "last_error")
export declare function hostLastError(buf: usize, bufCap: i32): i32;

// Selects the settings whose setting_changed events the plugin receives
// (docs/ABI.md §3, subscribe_setting): its declarations and these names.
// @ts-ignore: decorator
@external("heksher_v1", "subscribe_setting")
export declare function hostSubscribeSetting(name: usize, nameLen: i32): i32;

// Describes the event being handled (docs/ABI.md §3, event_info): 1 its
// flags (1 initial, 2 unreadable), 2 a closing event's reason.
// @ts-ignore: decorator
@external("heksher_v1", "event_info")
export declare function hostEventInfo(what: i32): i32;

// WASI's random_get, imported only by a plugin that uses Math.random (through
// the seed in abort.ts).
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "random_get")
export declare function wasiRandomGet(buf: usize, len: usize): u16;
