package abi

// ImportLastError is the host function that answers why the instance's most
// recent failing host call failed (docs/ABI.md §3, last_error):
// (buf_ptr, buf_cap i32) -> i32, the reason's length or INVALID_MEMORY. Like
// every function added to ABI v1 after its first version, a guest that
// imports it is refused at load by hosts that predate it.
const ImportLastError = "last_error"

// MaxReason is the most bytes of a reason last_error answers; a longer one
// is cut at a character boundary and ends in "…".
const MaxReason = 1024
