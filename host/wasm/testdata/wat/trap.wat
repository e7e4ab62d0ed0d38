;; A test module for host/wasm fault tests; `make wasm` assembles it.
;; A valid plugin whose setting-changed handler traps at once (unreachable):
;; a fault of the wasm code itself, with no language runtime to report it.
;; heksher_init logs the config it was given.
(module
  (import "heksher_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "heksher_abi_v1"))
  (func (export "heksher_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "heksher_free") (param i32))
  (func (export "heksher_init") (param $ptr i32) (param $len i32) (result i32)
    (call $log (i32.const 0) (local.get $ptr) (local.get $len))
    (i32.const 0))
  (func (export "heksher_on_setting_changed") (param i32 i32) (result i32)
    unreachable))
