;; A test module for host/wasm validation and fault tests; `make wasm` assembles it.
;; A plugin with a start section: it counts into memory at offset 0 each time
;; it runs, and heksher_init fails unless it ran exactly once in this instance
;; (a start section runs once per instance, before _initialize).
(module
  (memory (export "memory") 1)
  (func $start (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1))))
  (start $start)
  (func (export "heksher_abi_v1"))
  (func (export "heksher_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "heksher_free") (param i32))
  (func (export "heksher_init") (param i32 i32) (result i32)
    (if (result i32) (i32.eq (i32.load (i32.const 0)) (i32.const 1))
      (then (i32.const 0)) (else (i32.const 1)))))
