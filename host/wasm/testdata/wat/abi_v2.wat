;; A test module for host/wasm validation and fault tests; `make wasm` assembles it.
;; It is built for ABI v2.
(module
  (memory (export "memory") 1)
  (func (export "heksher_abi_v2"))
  (func (export "heksher_init") (param i32 i32) (result i32) (i32.const 0)))
