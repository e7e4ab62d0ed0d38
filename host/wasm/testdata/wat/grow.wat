;; A test module for host/wasm fault tests; `make wasm` assembles it.
;; A valid plugin whose setting-changed handler grows its memory without end,
;; as an allocator that ignores failure would: it grows by one page, ignores
;; memory.grow's answer, and writes to the last word of the page it believes
;; it now has. At the memory limit memory.grow fails, and the first write past
;; the real end traps. heksher_init logs the config it was given.
(module
  (import "heksher_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "heksher_abi_v1"))
  (func (export "heksher_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "heksher_free") (param i32))
  (func (export "heksher_init") (param $ptr i32) (param $len i32) (result i32)
    (call $log (i32.const 0) (local.get $ptr) (local.get $len))
    (i32.const 0))
  (func (export "heksher_on_setting_changed") (param i32 i32) (result i32)
    (local $pages i32)
    (local.set $pages (memory.size))
    (loop $more
      (drop (memory.grow (i32.const 1)))
      (local.set $pages (i32.add (local.get $pages) (i32.const 1)))
      (i32.store (i32.sub (i32.shl (local.get $pages) (i32.const 16)) (i32.const 4)) (i32.const 1))
      (br $more))
    (i32.const 0)))
