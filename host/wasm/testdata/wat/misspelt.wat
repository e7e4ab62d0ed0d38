;; A test module for host/wasm validation and fault tests; `make wasm` assembles it.
;; Every name in it is a misspelling: a heksher_v1 import, a WASI import,
;; the required heksher_init export and an optional handler export.
(module
  (import "heksher_v1" "get_settign" (func (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_wirte" (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "heksher_abi_v1"))
  (func (export "heksher_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "heksher_free") (param i32))
  (func (export "heksher_inti") (param i32 i32) (result i32) (i32.const 0)))
