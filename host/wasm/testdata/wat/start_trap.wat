;; A test module for host/wasm validation and fault tests; `make wasm` assembles it.
;; A valid plugin whose start section traps: Runtime.Check accepts it (it
;; runs nothing), Runtime.Load fails, since instantiating runs the start section.
(module
  (memory (export "memory") 1)
  (func $start unreachable)
  (start $start)
  (func (export "heksher_abi_v1"))
  (func (export "heksher_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "heksher_free") (param i32))
  (func (export "heksher_init") (param i32 i32) (result i32) (i32.const 0)))
