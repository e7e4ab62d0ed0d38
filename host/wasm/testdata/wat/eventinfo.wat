;; A test module for host/wasm's event_info and subscribe_setting tests;
;; `make wasm` assembles it. It selects the setting "b" at init and stores
;; what the two host functions answer at fixed addresses for the test to
;; read: at init, 24: event_info(1) (NOT_ALLOWED outside a handler), 28:
;; subscribe_setting("b"); in a setting change, 0: the flags, 4: the closing
;; reason (0), 8: subscribe_setting after init (NOT_ALLOWED), 12:
;; event_info(99) (MALFORMED); in a closing event, 16: the closing reason,
;; 20: the flags (0).
(module
  (import "heksher_v1" "event_info" (func $info (param i32) (result i32)))
  (import "heksher_v1" "subscribe_setting" (func $select (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "b")
  (func (export "heksher_abi_v1"))
  (func (export "heksher_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "heksher_free") (param i32))
  (func (export "heksher_init") (param i32 i32) (result i32)
    (i32.store (i32.const 24) (call $info (i32.const 1)))
    (i32.store (i32.const 28) (call $select (i32.const 64) (i32.const 1)))
    (i32.const 0))
  (func (export "heksher_on_setting_changed") (param i32 i32) (result i32)
    (i32.store (i32.const 0) (call $info (i32.const 1)))
    (i32.store (i32.const 4) (call $info (i32.const 2)))
    (i32.store (i32.const 8) (call $select (i32.const 64) (i32.const 1)))
    (i32.store (i32.const 12) (call $info (i32.const 99)))
    (i32.const 0))
  (func (export "heksher_on_closing") (param i32 i32) (result i32)
    (i32.store (i32.const 16) (call $info (i32.const 2)))
    (i32.store (i32.const 20) (call $info (i32.const 1)))
    (i32.const 0)))
