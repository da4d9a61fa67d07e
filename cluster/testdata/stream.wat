;; stream.wat — WASI output for the cluster tests. Rebuild: wat2wasm stream.wat -o stream.wasm
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "tick\n")

  (func $tick
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 5))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  ;; tick_then_spin prints "tick\n" and loops forever.
  (func (export "tick_then_spin")
    (call $tick)
    (loop $l (br $l)))

  ;; ticks_forever prints "tick\n" until it is stopped.
  (func (export "ticks_forever")
    (loop $l
      (call $tick)
      (br $l)))

  ;; ticks(n) prints "tick\n" n times and returns n.
  (func (export "ticks") (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (call $tick)
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $n))
)
