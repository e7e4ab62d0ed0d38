package abi

// Version is the ABI's major version.
const Version = 1

// ImportModule is the module name of the host functions of ABI v1.
const ImportModule = "heksher_v1"

// Names of the host functions in [ImportModule].
const (
	ImportGetSetting = "get_setting" // (name_ptr, name_len, ctx_ptr, ctx_len, buf_ptr, buf_cap i32) -> i32
	ImportSetError   = "set_error"   // (ptr, len i32) -> ()
	ImportLog        = "log"         // (level, ptr, len i32) -> ()
	ImportLogEnabled = "log_enabled" // (level i32) -> i32
	ImportDeclare    = "declare"     // (ptr, len i32) -> i32
	ImportSubscribe  = "subscribe"   // (kinds i32) -> i32
)

// Names of the guest's exports.
const (
	ExportMemory     = "memory"
	ExportInitialize = "_initialize"    // () -> (), optional
	ExportMarker     = "heksher_abi_v1" // () -> (), never called
	ExportAlloc      = "heksher_alloc"  // (size i32) -> ptr i32
	ExportFree       = "heksher_free"   // (ptr i32) -> ()
	ExportInit       = "heksher_init"   // (ptr, len i32) -> status i32

	ExportOnDeclared       = "heksher_on_declared"        // (ptr, len i32) -> status i32, optional
	ExportOnUpdateOK       = "heksher_on_update_ok"       // (ptr, len i32) -> status i32, optional
	ExportOnUpdateError    = "heksher_on_update_error"    // (ptr, len i32) -> status i32, optional
	ExportOnSettingChanged = "heksher_on_setting_changed" // (ptr, len i32) -> status i32, optional
	ExportOnClosing        = "heksher_on_closing"         // (ptr, len i32) -> status i32, optional
)

// Status codes returned by the guest's heksher_init and heksher_on_* exports.
const (
	StatusOK          int32 = 0 // handled
	StatusError       int32 = 1 // failed; the message was set with set_error
	StatusUnsupported int32 = 2 // the guest does not handle this kind; stop sending it
)

// Results of host functions. get_setting returns the value's length (>= 0)
// or one of these; declare and subscribe return ResultOK or one of these.
const (
	ResultOK            int32 = 0
	ResultNotFound      int32 = -1 // no such setting
	ResultNotDeclared   int32 = -2 // the plugin did not declare the setting
	ResultBadContext    int32 = -3 // the context does not fit the setting
	ResultInvalidMemory int32 = -4 // a pointer or length lies outside the guest's memory
	ResultMalformed     int32 = -5 // a payload does not decode
	ResultNotAllowed    int32 = -6 // the function may not be called now (declare/subscribe after init)
	ResultInternal      int32 = -7 // the host failed for another reason
)

// Log levels for the log import; they are log/slog's levels.
const (
	LevelDebug int32 = -4
	LevelInfo  int32 = 0
	LevelWarn  int32 = 4
	LevelError int32 = 8
)

// Kind numbers of events; they equal event.Kind's values. A subscribe mask
// has bit (1 << kind) set for each wanted kind.
const (
	KindDeclared       uint32 = 1
	KindUpdateOK       uint32 = 2
	KindUpdateError    uint32 = 3
	KindSettingChanged uint32 = 4
	KindClosing        uint32 = 5
)

// HeaderSize is the size in bytes of the header that starts every event.
const HeaderSize = 40
