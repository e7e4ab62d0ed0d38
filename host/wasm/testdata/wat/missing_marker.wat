;; A test module for host/wasm validation; `make wasm` assembles it.
;; Everything of ABI v1 but the heksher_abi_v1 marker: not a heksher plugin.
(module
  (memory (export "memory") 1)
  (func (export "heksher_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "heksher_free") (param i32))
  (func (export "heksher_init") (param i32 i32) (result i32) (i32.const 0)))
