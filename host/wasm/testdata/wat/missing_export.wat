;; A test module for host/wasm validation and fault tests; `make wasm` assembles it.
;; It lacks the required export heksher_init.
(module
  (memory (export "memory") 1)
  (func (export "heksher_abi_v1"))
  (func (export "heksher_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "heksher_free") (param i32))
)
