;; A test module for host/wasm validation; `make wasm` assembles it.
;; Imports its memory instead of defining it: the host shares no memory.
(module
  (import "env" "memory" (memory 1))
  (export "memory" (memory 0))
  (func (export "heksher_abi_v1"))
  (func (export "heksher_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "heksher_free") (param i32))
  (func (export "heksher_init") (param i32 i32) (result i32) (i32.const 0)))
