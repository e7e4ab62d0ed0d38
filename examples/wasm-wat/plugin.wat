;; A heksher ABI v1 plugin written directly in WebAssembly text, with no
;; SDK and no WASI: proof that the ABI in docs/ABI.md is language-neutral.
;; `make wasm` assembles it with wabt's wat2wasm into plugin.wasm.
;;
;; At init it declares the setting "greeting" (str, configurable by "env",
;; default "hello") and subscribes to setting-changed events. On each such
;; event it reads the changed setting's name from the event, looks
;; "greeting" up for env=prod, and logs "<setting> changed; greeting for
;; env=prod: <value>".
(module
  (import "heksher_v1" "get_setting"
    (func $get_setting (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "heksher_v1" "set_error" (func $set_error (param i32 i32)))
  (import "heksher_v1" "log" (func $log (param i32 i32 i32)))
  (import "heksher_v1" "declare" (func $declare (param i32 i32) (result i32)))
  (import "heksher_v1" "subscribe" (func $subscribe (param i32) (result i32)))

  (memory (export "memory") 1)

  ;; 16: the declaration (49 bytes):
  ;;   str "greeting" | str "str" | strs ["env"] | str "\"hello\"" | str "" | str ""
  (data (i32.const 16)
    "\08\00\00\00greeting"
    "\03\00\00\00str"
    "\01\00\00\00\03\00\00\00env"
    "\07\00\00\00\22hello\22"
    "\00\00\00\00"
    "\00\00\00\00")
  ;; 256: the context env=prod (19 bytes): u32 1 | str "env" | str "prod"
  (data (i32.const 256) "\01\00\00\00\03\00\00\00env\04\00\00\00prod")
  ;; 300: the setting name looked up (8 bytes)
  (data (i32.const 300) "greeting")
  ;; 320: the middle of the log line (33 bytes)
  (data (i32.const 320) " changed; greeting for env=prod: ")
  ;; 400: error messages
  (data (i32.const 400) "declare refused")              ;; 15 bytes
  (data (i32.const 420) "lookup of greeting failed")    ;; 25 bytes
  (data (i32.const 450) "malformed event")              ;; 15 bytes

  ;; 2048..4095: the log line being composed. 8192..: heap for heksher_alloc.
  (global $heap (mut i32) (i32.const 8192))

  (func (export "_initialize"))
  (func (export "heksher_abi_v1"))

  ;; heksher_alloc: a bump allocator; the host asks for one buffer per
  ;; instance, rarely more.
  (func (export "heksher_alloc") (param $size i32) (result i32)
    (local $ptr i32) (local $end i32) (local $have i32)
    (local.set $ptr (global.get $heap))
    (local.set $end (i32.and (i32.add (i32.add (local.get $ptr) (local.get $size)) (i32.const 7))
                             (i32.const -8)))
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have))
                                                       (i32.const 65535))
                                              (i32.const 16)))
                    (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (local.get $end))
    (local.get $ptr))

  (func (export "heksher_free") (param i32))

  (func (export "heksher_init") (param $ptr i32) (param $len i32) (result i32)
    (if (i32.ne (call $declare (i32.const 16) (i32.const 49)) (i32.const 0))
      (then
        (call $set_error (i32.const 400) (i32.const 15))
        (return (i32.const 1))))
    ;; 1 << 4: setting_changed
    (drop (call $subscribe (i32.const 16)))
    (i32.const 0))

  ;; copy n bytes from src to dst; returns dst + n. memory.copy (bulk memory,
  ;; WebAssembly 2.0) rather than a byte loop: with preemption on, the host
  ;; runtime checks for a timeout on every loop iteration, an exit into the
  ;; host that costs far more than copying a byte.
  (func $copy (param $dst i32) (param $src i32) (param $n i32) (result i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $n))
    (i32.add (local.get $dst) (local.get $n)))

  ;; The event: a 40-byte header, then str setting (u32 length at +40, bytes
  ;; at +44), then the rule sets, which this plugin does not read.
  (func (export "heksher_on_setting_changed") (param $ptr i32) (param $len i32) (result i32)
    (local $nlen i32) (local $out i32) (local $n i32)
    (if (i32.lt_u (local.get $len) (i32.const 44))
      (then (call $set_error (i32.const 450) (i32.const 15)) (return (i32.const 1))))
    (local.set $nlen (i32.load (i32.add (local.get $ptr) (i32.const 40))))
    (if (i32.or (i32.gt_u (local.get $nlen) (i32.const 512))
                (i32.gt_u (i32.add (local.get $nlen) (i32.const 44)) (local.get $len)))
      (then (call $set_error (i32.const 450) (i32.const 15)) (return (i32.const 1))))
    ;; line = setting name + middle + value
    (local.set $out (call $copy (i32.const 2048) (i32.add (local.get $ptr) (i32.const 44)) (local.get $nlen)))
    (local.set $out (call $copy (local.get $out) (i32.const 320) (i32.const 33)))
    (local.set $n (call $get_setting
      (i32.const 300) (i32.const 8)    ;; name
      (i32.const 256) (i32.const 19)   ;; context
      (local.get $out) (i32.sub (i32.const 4096) (local.get $out))))  ;; buffer: the rest of the line
    (if (i32.or (i32.lt_s (local.get $n) (i32.const 0))
                (i32.gt_s (local.get $n) (i32.sub (i32.const 4096) (local.get $out))))
      (then (call $set_error (i32.const 420) (i32.const 25)) (return (i32.const 1))))
    (call $log (i32.const 0) (i32.const 2048)
      (i32.sub (i32.add (local.get $out) (local.get $n)) (i32.const 2048)))
    (i32.const 0))
)
