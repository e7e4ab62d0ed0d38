;; A hostile module for host/wasm's memory tests, and for any test that needs
;; a plugin growing its memory to its limit; `make wat` assembles it.
;;
;; It grows its linear memory one 64 KiB page at a time, as a guest allocator
;; that asks for as little as it can would, writing to every 4 KiB of each new
;; page so that the host has to provide real memory, until memory.grow fails
;; at the plugin's memory limit:
;;
;;   - heksher_on_setting_changed grows to the limit and returns OK (the host
;;     then recycles the instance, so each event grows a fresh one again);
;;   - heksher_on_update_ok grows to the limit and then keeps rewriting its
;;     pages until the host stops it (its deadline, or the plugin's Close).
;;
;; Each logs "grow: start" (INFO) before growing and "grow: at limit" when
;; memory.grow has failed. heksher_init accepts any config.
(module
  (import "heksher_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "grow: start")
  (data (i32.const 32) "grow: at limit")
  (func (export "heksher_abi_v1"))
  (func (export "heksher_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "heksher_free") (param i32))
  (func (export "heksher_init") (param i32 i32) (result i32) (i32.const 0))

  ;; $grow adds pages one by one until memory.grow fails, touching each 4 KiB.
  (func $grow
    (local $base i32)
    (local $off i32)
    (call $log (i32.const 0) (i32.const 16) (i32.const 11))
    (block $full
      (loop $more
        (local.set $base (memory.grow (i32.const 1)))
        (br_if $full (i32.eq (local.get $base) (i32.const -1)))
        (local.set $base (i32.shl (local.get $base) (i32.const 16)))
        (local.set $off (i32.const 0))
        (loop $touch
          (i32.store (i32.add (local.get $base) (local.get $off)) (i32.const 1))
          (local.set $off (i32.add (local.get $off) (i32.const 4096)))
          (br_if $touch (i32.lt_u (local.get $off) (i32.const 65536))))
        (br $more)))
    (call $log (i32.const 0) (i32.const 32) (i32.const 14)))

  (func (export "heksher_on_setting_changed") (param i32 i32) (result i32)
    (call $grow)
    (i32.const 0))

  (func (export "heksher_on_update_ok") (param i32 i32) (result i32)
    (local $addr i32)
    (call $grow)
    (loop $spin
      ;; Rewrite one word per 4 KiB across the whole memory, forever.
      (local.set $addr (i32.add (local.get $addr) (i32.const 4096)))
      (if (i32.ge_u (local.get $addr) (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 4)))
        (then (local.set $addr (i32.const 2048))))
      (i32.store (local.get $addr) (local.get $addr))
      (br $spin))
    (i32.const 0)))
