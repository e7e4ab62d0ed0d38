;; A test module for host/wasm validation and fault tests; `make wasm` assembles it.
;; A valid plugin whose memory starts at 8 pages (512 KiB): refused under a
;; smaller memory limit, before anything of it runs.
(module
  (memory (export "memory") 8)
  (func (export "heksher_abi_v1"))
  (func (export "heksher_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "heksher_free") (param i32))
  (func (export "heksher_init") (param i32 i32) (result i32) (i32.const 0)))
