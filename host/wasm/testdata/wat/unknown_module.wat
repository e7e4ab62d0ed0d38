;; A test module for host/wasm validation and fault tests; `make wasm` assembles it.
;; It imports from a module the host does not provide.
(module
  (import "env" "connect" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "heksher_abi_v1"))
  (func (export "heksher_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "heksher_free") (param i32))
  (func (export "heksher_init") (param i32 i32) (result i32) (i32.const 0)))
