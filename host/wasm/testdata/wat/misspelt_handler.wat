;; A test module for host/wasm validation and fault tests; `make wasm` assembles it.
;; A valid plugin whose setting_changed handler is misspelt: the host loads
;; it and warns that heksher_on_setting_change is never called.
(module
  (memory (export "memory") 1)
  (func (export "heksher_abi_v1"))
  (func (export "heksher_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "heksher_free") (param i32))
  (func (export "heksher_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "heksher_on_setting_change") (param i32 i32) (result i32) (i32.const 0)))
